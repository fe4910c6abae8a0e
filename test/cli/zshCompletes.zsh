# What zsh's completion system offers for lines typed at an interactive zsh: usage
# `zsh -f zshCompletes.zsh fpath|source SCRIPT OUT LINE...`. It starts `zsh -f -i` in a pseudo-terminal (zsh/zpty)
# and runs compinit, with SCRIPT's folder first on $fpath (`fpath`: SCRIPT is named after its function, `_bt`, and
# its `#compdef` line is what binds it) or with SCRIPT sourced after compinit (`source`); then, for each LINE, it types
# the line and a TAB and writes to OUT every match the completion functions added (one a line), then a line holding
# only an ASCII record separator (0x1e), and empties the line. compadd is wrapped to record the matches it adds after
# zsh's own matching against the word typed. Exits 3 when zsh does not answer in time.
emulate -L zsh
zmodload zsh/zpty zsh/zselect || { print -u2 "zsh has no zpty/zselect module"; exit 3 }
local how=$1 script=$2 out=$3 line chunk seen=""
shift 3
typeset -F SECONDS=0

# Reads the terminal's output until `marker` shows (written in two pieces in what is typed, so that the echo of what
# is typed is no match), keeping what came after it.
await() {
  local marker=$1
  while (( SECONDS < 25 )); do
    if zpty -r -t shell chunk; then
      seen+=$chunk
      [[ $seen == *$marker* ]] && { seen=${seen#*$marker}; return 0 }
    else
      zselect -t 5
    fi
  done
  print -u2 "zsh did not show $marker within 25 s; its terminal showed: ${(q+)seen[-400,-1]}"
  zpty -d shell
  exit 3
}

# Nothing of the user's (zsh -f); no completion dump; never "do you wish to see all N possibilities?"; TAB completes
# once and records, then prints the marker.
local setup="PS1='bt-''ready> '; LISTMAX=100000; autoload -U compinit"
case $how in
  (fpath) setup+="; fpath=(${(q)script:h} \$fpath); compinit -u -D" ;;
  (source) setup+="; compinit -u -D; source ${(q)script}" ;;
  (*) print -u2 "usage: zsh -f zshCompletes.zsh fpath|source SCRIPT OUT LINE..."; exit 2 ;;
esac
zpty shell zsh -f -i
zpty -w shell $setup
zpty -w shell "compadd() { local -a added; if (( \${@[(I)-[OAD]]} )); then builtin compadd \"\$@\"; return; fi;" \
  "builtin compadd -O added \"\$@\"; print -rl -- \$added >> ${(q)out}; builtin compadd \"\$@\" }"
zpty -w shell "record-completion() { zle complete-word; print \$'\\x1e' >> ${(q)out}; BUFFER=''; CURSOR=0;" \
  "print -n -- 'COMPLETION''DONE' }; zle -N record-completion; bindkey '^I' record-completion; print -- 'SETUP''DONE'"
await SETUPDONE
await 'bt-ready> '
: >| $out
for line; do
  zpty -w -n shell "$line"$'\t'
  await COMPLETIONDONE
done
zpty -d shell
