#!/bin/sh
# Run the inner makefile with the make we were called by. GNU make would
# announce every recursion ("Entering directory"); tell it not to, so that
# the last line of `make check` is the test runner's own.
# Usage: sh mk/sub.sh MAKE ARGS...
make=$1; shift
case $("$make" --version 2>/dev/null) in
GNU*) exec "$make" --no-print-directory -f mk/build.mk "$@" ;;
*) exec "$make" -f mk/build.mk "$@" ;;
esac
