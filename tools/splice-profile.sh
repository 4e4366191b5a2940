#!/bin/sh
# Prints profile $1 with every `"src": "PATH"` that names a regular file beside the profile
# replaced by `"content": "<that file as a JSON string>"`: the compiled-in default profile then
# carries its scripts (profiles/minimal/init) and needs no files at run time. Every line of a
# spliced file must end in a newline (the JSON string ends in \n).
set -eu
dir=$(dirname "$1")
exec awk -v dir="$dir" '
function jstr(path,    line, out, n) {
	out = ""
	while ((n = (getline line < path)) > 0) {
		gsub(/\\/, "\\\\", line); gsub(/"/, "\\\"", line); gsub(/\t/, "\\t", line)
		out = out line "\\n"
	}
	if (n < 0) { print "splice-profile: cannot read " path > "/dev/stderr"; exit 1 }
	close(path)
	return out
}
{
	if (match($0, /"src": "[^"]*"/)) {
		path = substr($0, RSTART + 8, RLENGTH - 9)
		if (system("test -f \"" dir "/" path "\"") == 0) {
			$0 = substr($0, 1, RSTART - 1) "\"content\": \"" jstr(dir "/" path) "\"" \
			     substr($0, RSTART + RLENGTH)
		}
	}
	print
}' "$1"
