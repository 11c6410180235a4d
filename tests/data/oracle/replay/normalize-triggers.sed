s/[A-Z][a-z][a-z] [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC/TIMESTAMP/g
s/[A-Z][a-z]{2} [0-9]{2} [0-9:]{8} (sd-oracle|vm) /JDATE HOST /g
s/; [0-9a-z .]+ (ago|left)/; AGO/g
s/\[[0-9]+\]:/[PID]:/g
s/ CPU: .*/ CPU: X/
s/next_elapse=[^}]*/next_elapse=X/g
s/Main PID: [0-9]+/Main PID: N/
s/^( +)(└─|├─)?[0-9]+ /\1\2PID /
s#/tmp/h2pk[^ ]*/units/#/UNITDIR/#g
s#/pidone-[0-9a-f]+/#/system.slice/#g
