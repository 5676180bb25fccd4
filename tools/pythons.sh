#!/bin/sh
# Which Python interpreters the Makefile uses.
#
#   sh tools/pythons.sh resolve NAME   the absolute path of a working interpreter NAME (python3,
#                                      python3.13, /usr/bin/python3.12, ...); exit 1 if none
#   sh tools/pythons.sh second X.Y     a supported interpreter of another version than X.Y that
#                                      can build the project (has venv and the C headers); prints
#                                      nothing if there is none, and says on standard error what it
#                                      looked at
#
# NAME may be a pyenv shim for a version that is installed but not selected (pyenv then answers
# "command not found ... exists in these Python versions"); that version's interpreter is used.
set -u

SUPPORTED="3.11 3.12 3.13"

# Print the interpreter's own path if it runs.
runs() {
    "$1" -c 'import sys; print(sys.executable)' 2>/dev/null
}

resolve() {
    runs "$1" && return 0
    command -v pyenv >/dev/null 2>&1 || return 1
    root=$(pyenv root 2>/dev/null) || return 1
    found=""
    for version in $(pyenv whence "$1" 2>/dev/null); do
        exe=$(runs "$root/versions/$version/bin/$1") && found=$exe  # the last listed is the newest
    done
    [ -n "$found" ] && echo "$found"
}

# Print the interpreter's path if it is Python X.Y and can make a venv and compile an extension.
usable() {
    "$1" - "$2" <<'EOF'
import importlib.util, os, sys, sysconfig
wanted = sys.argv[1]
headers = os.path.join(sysconfig.get_paths()["include"], "Python.h")
if "%d.%d" % sys.version_info[:2] != wanted:
    sys.exit("is Python %d.%d" % sys.version_info[:2])
if importlib.util.find_spec("ensurepip") is None:
    sys.exit("has no ensurepip (venv cannot install pip)")
if not os.path.exists(headers):
    sys.exit("has no C headers (%s)" % headers)
print(sys.executable)
EOF
}

second() {
    primary=$1
    # The supported version furthest from the primary one (the newer of two equally far):
    # the differences that break an extension pile up between the oldest and the newest.
    case $primary in
        3.11) order="3.13 3.12" ;;
        3.12) order="3.13 3.11" ;;
        3.13) order="3.11 3.12" ;;
        *) order=$SUPPORTED ;;
    esac
    for version in $order; do
        exe=$(resolve "python$version") || {
            echo "second Python: python$version not found" >&2
            continue
        }
        why=$(usable "$exe" "$version" 2>&1 >/dev/null) && {
            echo "$exe"
            return 0
        }
        echo "second Python: $exe cannot be used: $why" >&2
    done
    return 0
}

case ${1:-} in
    resolve) resolve "$2" ;;
    second) second "$2" ;;
    *)
        echo "usage: $0 resolve NAME | second X.Y" >&2
        exit 2
        ;;
esac
