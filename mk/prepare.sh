#!/bin/sh
# Configure once (again when configure changed), then write the per-file
# rules for the sources present now. Usage: sh mk/prepare.sh OBJDIR SAN
O=$1
SAN=$2
if [ ! -f "$O/config.mk" ] || [ configure -nt "$O/config.mk" ]; then
	sh ./configure O="$O" SAN="$SAN" || exit $?
fi
sh mk/gen.sh > "$O/rules.mk.new" && mv "$O/rules.mk.new" "$O/rules.mk"
