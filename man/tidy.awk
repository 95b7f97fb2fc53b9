# Drops the paragraph macros scdoc 1.11 emits where they do nothing, so
# that `mandoc -T lint -W warning` has nothing to report: a .P right after
# .TH, .SH or .SS, or right before .SH, .SS, another .P or the end. A .P
# that closes an indented item (.P then .RE) moves after the .RE, where it
# keeps the blank line between items in every formatter.
{ line[n++] = $0 }

END {
  for (i = 0; i + 1 < n; i++) {
    if (line[i] == ".P" && line[i + 1] == ".RE") {
      line[i] = ".RE"
      line[i + 1] = ".P"
    }
  }
  prev = ""
  for (i = 0; i < n; i++) {
    next_line = i + 1 < n ? line[i + 1] : ""
    if (line[i] == ".P" && (prev ~ /^\.(TH|SH|SS)( |$)/ ||
        next_line ~ /^\.(SH|SS)( |$)/ || next_line == ".P" || i + 1 == n))
      continue
    print line[i]
    prev = line[i]
  }
}
