#!/bin/sh
# What a command sees of the kernel-protection and namespace settings (capture-sandbox.sh,
# tests/system/test_sandbox_protect.py). Reads only; never sets the host name.
ns() { readlink "/proc/self/ns/$1"; }
[ "$(ns net)" = "$(cat /run/sbx-host-net 2>/dev/null)" ] && echo "net=host" || echo "net=private"
[ "$(ns uts)" = "$(cat /run/sbx-host-uts 2>/dev/null)" ] && echo "uts=host" || echo "uts=private"
echo "links=$(tail -n +3 /proc/self/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ' ')"
(: > /proc/sys/kernel/printk_ratelimit) 2>/dev/null && echo "proc-sys=writable" || echo "proc-sys=read-only"
for m in /sys /sys/fs/cgroup /proc/sys; do
    echo "mount $m $(awk -v m="$m" '$5 == m {split($6, o, ","); f = o[1]} END {print f}' /proc/self/mountinfo)"
done
echo "kcore-size=$(stat -c %s /proc/kcore 2>/dev/null)"
echo "kmsg-mode=$(stat -c %a /proc/kmsg 2>/dev/null)"
echo "proc-opts=$(awk '$5 == "/proc" {o = $NF} END {print o}' /proc/self/mountinfo | tr ',' '\n' | grep -E '^(hidepid|subset)=' | tr '\n' ' ')"
echo "proc-sys-exists=$(test -e /proc/sys && echo yes || echo no) sees-pid1=$(test -e /proc/1 && echo yes || echo no)"
