"""The [Install] section, unit-file states, install changes and presets (spec 04 §9), pure.

systemd 252 reads [Install] only for `systemctl enable/disable/...` (src/shared/install.c);
the manager ignores it. What this module follows:

1. `WantedBy=`, `RequiredBy=`, `Alias=` are word lists; an empty assignment clears the
   list (config_parse_strv). `Also=` can only add. `DefaultInstance=` is a single value;
   empty unsets it. `Alias=` is refused for unit types that cannot be aliased, and
   `DefaultInstance=` outside templates ("only makes sense for template units").
2. Specifiers are expanded with the name the unit is being installed under
   (install_name_printf(); for `getty@tty2.service` that is the instance name).
3. A state is one of UNIT_FILE_STATES; `is-enabled` exits 0 for ENABLED_LIKE states.
4. Presets: `*.preset` files from the CONF_PATHS dirs, de-duplicated by file name (first
   directory wins) and read in file-name order; the first `enable`/`disable` rule whose
   pattern matches (fnmatch without escapes) decides; no match means "enable".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from fnmatch import fnmatchcase

from pidone.core.dataclass_lite import dataclass
from pidone.core.errors import Diagnostic, ValueParseError
from pidone.core.hints import Literal
from pidone.core.unitfile import Assignment
from pidone.core.unitname import (
    ALIAS_TYPES,
    instance_of,
    is_valid_instance,
    is_valid_unit_name,
    template_of,
    unit_type,
)

UnitFileState = Literal[
    "enabled",
    "enabled-runtime",
    "linked",
    "linked-runtime",
    "alias",
    "masked",
    "masked-runtime",
    "static",
    "disabled",
    "indirect",
    "generated",
    "transient",
    "bad",
]
# The same names as a tuple, written out: typing.get_args would need typing at run time.
UNIT_FILE_STATES: tuple[UnitFileState, ...] = (
    "enabled",
    "enabled-runtime",
    "linked",
    "linked-runtime",
    "alias",
    "masked",
    "masked-runtime",
    "static",
    "disabled",
    "indirect",
    "generated",
    "transient",
    "bad",
)
# `systemctl is-enabled` exit 0 (systemctl-is-enabled.c)
ENABLED_LIKE: frozenset[str] = frozenset(
    {"enabled", "enabled-runtime", "static", "alias", "indirect", "generated"}
)
# list-unit-files shows "-" in the PRESET column for these (show_preset_for_state())
NO_PRESET_STATES: frozenset[str] = frozenset({"alias", "static", "generated", "transient"})

Expander = Callable[[str], str]  # specifier expansion for one unit name; raises ValueParseError


@dataclass(frozen=True, slots=True)
class InstallSection:
    """What `[Install]` asks `systemctl enable` to do (values already specifier-expanded)."""

    wanted_by: tuple[str, ...] = ()
    required_by: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    alias: tuple[str, ...] = ()
    default_instance: str | None = None

    @property
    def has_rules(self) -> bool:
        """install_info_has_rules(): aliases or wants/requires to create."""
        return bool(self.alias or self.wanted_by or self.required_by)

    @property
    def carries_install_info(self) -> bool:
        return self.has_rules or bool(self.also) or self.default_instance is not None


def _words(value: str) -> list[str]:
    """extract_first_word(EXTRACT_UNQUOTE|EXTRACT_RETAIN_ESCAPE): quotes go, backslashes stay."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    in_word = False
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            current.append(value[i : i + 2])
            in_word = True
            i += 2
            continue
        if quote:
            if c == quote:
                quote = ""
            else:
                current.append(c)
        elif c in "'\"":
            quote = c
            in_word = True
        elif c in " \t\n\r":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(c)
            in_word = True
        i += 1
    if in_word:
        words.append("".join(current))
    return words


def build_install_section(
    assignments: Iterable[Assignment],
    unit_name: str,
    expand: Expander | None = None,
) -> tuple[InstallSection, tuple[Diagnostic, ...]]:
    """Fold the `[Install]` assignments of a fragment and its drop-ins, in order."""
    wanted: list[str] = []
    required: list[str] = []
    also: list[str] = []
    alias: list[str] = []
    default_instance: str | None = None
    diags: list[Diagnostic] = []
    utype = unit_type(unit_name)

    def printed(a: Assignment, word: str, what: str) -> str | None:
        if expand is None:
            return word
        try:
            return expand(word)
        except ValueParseError:
            diags.append(
                Diagnostic(a.path, a.line, f'Failed to resolve {what}="{word}", ignoring.')
            )
            return None

    for a in assignments:
        if a.section != "Install":
            continue
        key = a.key
        if key in ("WantedBy", "RequiredBy", "Alias"):
            target = {"WantedBy": wanted, "RequiredBy": required, "Alias": alias}[key]
            if key == "Alias" and utype not in ALIAS_TYPES:
                diags.append(
                    Diagnostic(
                        a.path, a.line, f"Alias= is not allowed for {utype} units, ignoring."
                    )
                )
                continue
            if not a.value:
                target.clear()
                continue
            for word in _words(a.value):
                value = printed(a, word, f"unit name in {key}")
                if value is not None:
                    target.append(value)  # config_parse_strv() keeps duplicates
        elif key == "Also":
            for word in _words(a.value):
                value = printed(a, word, "unit name in Also")
                if value is not None and value not in also:
                    also.append(value)
        elif key == "DefaultInstance":
            if is_valid_unit_name(unit_name, plain=False, template=False):
                continue  # an instance being installed from its template: silently ignored
            if not is_valid_unit_name(unit_name, plain=False, instance=False):
                diags.append(
                    Diagnostic(
                        a.path,
                        a.line,
                        "DefaultInstance= only makes sense for template units, ignoring.",
                    )
                )
                continue
            value = printed(a, a.value, "instance name in DefaultInstance")
            if value is None:
                continue
            if value and not is_valid_instance(value):
                diags.append(
                    Diagnostic(a.path, a.line, f'Invalid DefaultInstance= value "{value}".')
                )
                continue
            default_instance = value or None
        elif not key.startswith("X-"):
            diags.append(
                Diagnostic(
                    a.path, a.line, f"Unknown key name '{key}' in section 'Install', ignoring."
                )
            )
    section = InstallSection(
        tuple(wanted), tuple(required), tuple(also), tuple(alias), default_instance
    )
    return section, tuple(diags)


# ---------------------------------------------------------------------------- changes

ChangeType = Literal[
    "symlink",
    "unlink",
    "is-masked",
    "is-masked-generator",
    "is-dangling",
    "destination-not-present",
    "auxiliary-failed",
    # errors (systemd's negative errno change types)
    "exists",  # -EEXIST
    "masked",  # -ERFKILL
    "generated",  # -EADDRNOTAVAIL
    "bad-name",  # -EUCLEAN
    "non-template",  # -EIDRM
    "linked",  # -ELOOP
    "bad-alias",  # -EXDEV
    "not-found",  # -ENOENT
    "bad-specifier",  # -EBADSLT
    "io",  # any other errno; `message` carries strerror
]
ERROR_CHANGES = frozenset(
    {
        "exists",
        "masked",
        "generated",
        "bad-name",
        "non-template",
        "linked",
        "bad-alias",
        "not-found",
        "bad-specifier",
        "io",
    }
)


@dataclass(frozen=True, slots=True)
class Change:
    """One symlink made or removed, or one problem met (systemd's InstallChange)."""

    type: ChangeType
    path: str
    source: str | None = None
    message: str = ""  # strerror for "io"

    @property
    def is_error(self) -> bool:
        return self.type in ERROR_CHANGES


def format_change(change: Change, verb: str) -> tuple[str, bool] | None:
    """systemctl's line for one change (install_changes_dump()) and whether it is an error."""
    p, s = change.path, change.source
    t = change.type
    info: dict[str, str] = {
        "symlink": f"Created symlink {p} \u2192 {s}.",
        "unlink": f'Removed "{p}".',
        "is-masked": f"Unit {p} is masked, ignoring.",
        "is-masked-generator": f"Unit {p} is masked via a generator and cannot be unmasked.",
        "is-dangling": f"Unit {p} is an alias to a unit that is not present, ignoring.",
        "destination-not-present": f"Unit {s} is added as a dependency to a non-existent unit {p}.",
        "auxiliary-failed": f"Failed to enable auxiliary unit {p}, ignoring.",
    }
    if t in info:
        return info[t], False
    if t == "exists":
        if s:
            text = f'Failed to {verb} unit, file "{p}" already exists and is a symlink to "{s}".'
        else:
            text = f'Failed to {verb} unit, file "{p}" already exists.'
    elif t == "masked":
        text = f"Failed to {verb} unit, unit {p} is masked."
    elif t == "generated":
        text = f"Failed to {verb} unit, unit {p} is transient or generated."
    elif t == "bad-specifier":
        text = f'Failed to {verb} unit, invalid specifier in "{p}".'
    elif t == "non-template":
        text = f"Failed to {verb} {s}, destination unit {p} is a non-template unit."
    elif t == "bad-name":
        text = f'Failed to {verb} unit, "{p}" is not a valid unit name.'
    elif t == "linked":
        text = f"Failed to {verb} unit, refusing to operate on linked unit file {p}."
    elif t == "bad-alias":
        if s:
            text = f"Failed to {verb} unit, cannot alias {s} as {p}."
        else:
            text = f'Failed to {verb} unit, invalid unit reference "{p}".'
    elif t == "not-found":
        text = f"Failed to {verb} unit, unit {p} does not exist."
    else:
        text = f'Failed to {verb} unit, file "{p}": {change.message}'
    return text, True


# ---------------------------------------------------------------------------- presets


@dataclass(frozen=True, slots=True)
class PresetRule:
    pattern: str
    enable: bool
    instances: tuple[str, ...] = ()


def parse_preset_file(
    data: bytes, path: str
) -> tuple[tuple[PresetRule, ...], tuple[Diagnostic, ...]]:
    """The rules of one `*.preset` file (read_presets())."""
    rules: list[PresetRule] = []
    diags: list[Diagnostic] = []
    text = data.decode("utf-8", "surrogateescape")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        verb, _, rest = line.partition(" ")
        if "\t" in verb:
            verb, _, tail = verb.partition("\t")
            rest = tail + " " + rest
        rest = rest.strip()
        if verb == "enable" and rest:
            words = rest.split()
            if len(words) > 1 and not is_valid_unit_name(words[0], plain=False, instance=False):
                diags.append(Diagnostic(path, number, f"Couldn't parse line '{raw}'. Ignoring."))
                continue
            rules.append(PresetRule(words[0], True, tuple(words[1:])))
        elif verb == "disable" and rest:
            rules.append(PresetRule(rest, False))
        else:
            diags.append(Diagnostic(path, number, f"Couldn't parse line '{raw}'. Ignoring."))
    return tuple(rules), tuple(diags)


def _rule_matches(rule: PresetRule, name: str) -> bool:
    if rule.instances:
        template = template_of(name)
        if template is not None and template == rule.pattern:
            instance = instance_of(name)
            if instance == "" or instance in rule.instances:
                return True
    return fnmatchcase(name, rule.pattern)


def query_preset(rules: Sequence[PresetRule], name: str) -> bool:
    """True when presets say "enable" (the default when no rule matches)."""
    for rule in rules:
        if _rule_matches(rule, name):
            return rule.enable
    return True
