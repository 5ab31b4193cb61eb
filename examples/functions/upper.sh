#!/usr/bin/env bash
# An exec function in plain bash (no jq): `autonomic fn deploy upper examples/functions/upper.sh`, then
# `autonomic fn invoke upper --data '"make me loud"'`  ->  "MAKE ME LOUD"
# The event must be a JSON string without escapes; anything else is answered with an error.
while IFS= read -r line; do
  id=${line#*\"id\":}
  id=${id%%,*}
  if [[ $line =~ \"event\":\"([^\"\\]*)\" ]]; then
    text=${BASH_REMATCH[1]}
    echo "upper-casing ${#text} characters" >&2
    printf '{"id":%s,"response":"%s"}\n' "$id" "${text^^}"
  else
    printf '{"id":%s,"error":"the event must be a plain JSON string"}\n' "$id"
  fi
done
