#!/usr/bin/python3
"""vsp's completion in a real shell, installed the way Debian finds it.

  completion_test.py SHELL VSP_BIN SOURCE_DIR

SHELL is bash (with bash-completion), zsh or fish. The test asks the
shell what TAB offers on partial command lines:

  * drift: for every command path in `vsp --help` (tests/docs/
    cli_surface.py), `vsp PATH <TAB>` offers exactly its subcommands and
    `vsp PATH --<TAB>` exactly its long options, `vsp PATH -<TAB>` every
    name of every option, short ones included;
  * a few lines as a user types them: a prefix of a subcommand, an
    option's choices (`--format `), `--format=j`, file names, rule
    names from the rules file wherever an option takes a rule, and task
    IDs from the ledger (VSP_LEDGER or --ledger) wherever one takes a
    task.

Exit 0 on success, 77 when the shell (or bash-completion) is missing, 1
with every difference otherwise.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "docs"))
import cli_surface  # noqa: E402

BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
RULES = """\
rules:
  - name: alpha-web
    allowed_policies: [a]
  - name: beta-api
    allowed_policies: [b]
"""


TASKS = ["1vdgm0ucpc8t2safefl3x93kh", "9zq1xk3m7p2w5n8c4b6v0d2fa"]


def make_ledger(source_dir, path):
    """A ledger as the plugin writes it: the schema and its identifying
    pragmas read from core/ledger, so a new schema version reaches this
    test too; one row per task in TASKS."""
    ledger = os.path.join(source_dir, "core", "ledger")
    with open(os.path.join(ledger, "schema.cpp"), encoding="utf-8") as f:
        sql = re.findall(r'R"sql\((.*?)\)sql"', f.read(), re.S)
    with open(os.path.join(ledger, "schema.hpp"), encoding="utf-8") as f:
        app_id = int(re.search(r"k_application_id = (0x[0-9a-fA-F]+)",
                               f.read()).group(1), 16)
    db = sqlite3.connect(path)
    for step in sql:
        db.executescript(step)
    db.execute("PRAGMA user_version = %d" % len(sql))
    db.execute("PRAGMA application_id = %d" % app_id)
    columns = [r[1] for r in db.execute("PRAGMA table_info(issuance)")]
    for n, task in enumerate(TASKS):
        row = {c: "" for c in columns}
        row.update(id="%032x" % n, task_id=task, service_name="shop_web",
                   secret="db", state="issued", policies="[]")
        for c in ("created_ms", "ttl_s", "expires_ms", "changed_ms"):
            row[c] = 1000 + n
        db.execute("INSERT INTO issuance (%s) VALUES (%s)"
                   % (",".join(columns), ",".join("?" * len(columns))),
                   [row[c] for c in columns])
    db.commit()
    db.close()


class Shell:
    """Installs the completion file where SHELL looks for it and asks."""

    def __init__(self, name, source_dir, tmp, env):
        self.name = name
        self.env = env
        self.source_dir = source_dir
        self.dir = os.path.join(tmp, name)
        src = os.path.join(source_dir, "completions")
        if name == "bash":
            os.makedirs(os.path.join(self.dir, "completions"))
            shutil.copy(os.path.join(src, "vsp.bash"),
                        os.path.join(self.dir, "completions", "vsp"))
        elif name == "zsh":
            os.makedirs(self.dir)
            shutil.copy(os.path.join(src, "_vsp"), self.dir)
        else:
            os.makedirs(self.dir)
            shutil.copy(os.path.join(src, "vsp.fish"), self.dir)

    def ask(self, line, cwd=None, env=None):
        if self.name == "bash":
            cmd = [os.path.join(HERE, "bash_complete.sh"), self.dir, line]
        elif self.name == "zsh":
            cmd = ["zsh", "-f", os.path.join(HERE, "zsh_complete.zsh"),
                   self.dir, line]
        else:
            script = ("set -p fish_complete_path %s; complete -C %s"
                      % (quote_fish(self.dir), quote_fish(line)))
            cmd = ["fish", "--no-config", "-c", script]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                             cwd=cwd, env=dict(self.env, **(env or {})))
        if out.returncode != 0:
            raise RuntimeError("%s failed on %r: %s"
                               % (self.name, line, out.stderr))
        return sorted({l.split("\t")[0].rstrip()
                       for l in out.stdout.splitlines() if l.strip()})


def quote_fish(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def missing(shell):
    if not shutil.which(shell):
        return "%s is not installed" % shell
    if shell == "bash" and not os.path.exists(BASH_COMPLETION):
        return "bash-completion is not installed"
    return None


def check(problems, what, got, want):
    if got != want:
        problems.append("%s: offered %s, wanted %s" % (what, got, want))


def drift(shell, surface, problems):
    """Every subcommand and long option of --help, and nothing else."""
    for path, command in sorted(surface.items()):
        line = ("vsp " + path).strip() + " "
        if command["subcommands"]:
            check(problems, line + "<TAB>", shell.ask(line),
                  sorted(command["subcommands"]))
        longs = sorted(o for o in command["options"] if o.startswith("--"))
        check(problems, line + "--<TAB>", shell.ask(line + "--"), longs)
        every = sorted({n for names in command["options"].values()
                        for n in names})
        check(problems, line + "-<TAB>", shell.ask(line + "-"), every)
    return len(surface)


def typing(shell, surface, tmp, problems):
    """Lines as a user types them."""
    check(problems, "vsp sim<TAB>", shell.ask("vsp sim"), ["simulate"])
    check(problems, "vsp simulate --format <TAB>",
          shell.ask("vsp simulate --format "), ["human", "json"])
    want = ["json"] if shell.name == "bash" else ["--format=json"]
    check(problems, "vsp simulate --format=j<TAB>",
          shell.ask("vsp simulate --format=j"), want)

    requests = os.path.join(tmp, "requests")
    os.makedirs(requests, exist_ok=True)
    for name in ("task-a.json", "task-b.json", "other.txt"):
        open(os.path.join(requests, name), "w").close()
    got = shell.ask("vsp simulate --request requests/task-", cwd=tmp)
    check(problems, "vsp simulate --request requests/task-<TAB>",
          sorted(os.path.basename(g) for g in got),
          ["task-a.json", "task-b.json"])

    rules = os.path.join(tmp, "rules.yaml")
    with open(rules, "w") as f:
        f.write(RULES)
    takes_rule = [p for p, c in surface.items() if "--rule" in c["options"]]
    for path in takes_rule:
        line = "vsp %s --rule " % path
        check(problems, line + "<TAB>",
              shell.ask(line, env={"VSP_RULES": rules}),
              ["alpha-web", "beta-api"])

    ledger = os.path.join(tmp, "ledger.db")
    make_ledger(shell.source_dir, ledger)
    takes_task = [p for p, c in surface.items() if "--task" in c["options"]]
    if not takes_task:
        problems.append("no subcommand takes --task")
    for path in takes_task:
        line = "vsp %s --task " % path
        check(problems, line + "<TAB>",
              shell.ask(line, env={"VSP_LEDGER": ledger}), sorted(TASKS))
        line = "vsp %s --ledger %s --task 1" % (path, ledger)
        check(problems, line + "<TAB>", shell.ask(line), TASKS[:1])
    return takes_rule, takes_task


def main():
    shell_name, vsp, source_dir = sys.argv[1:4]
    why = missing(shell_name)
    if why:
        print("SKIP: " + why, file=sys.stderr)
        sys.exit(77)
    vsp = os.path.abspath(vsp)
    env = dict(os.environ, HOME=tempfile.gettempdir(),
               PATH=os.path.dirname(vsp) + os.pathsep + os.environ["PATH"])
    surface = cli_surface.surface(vsp)
    problems = []
    with tempfile.TemporaryDirectory(prefix="vsp-completion.") as tmp:
        env["HOME"] = tmp
        env["XDG_CONFIG_HOME"] = os.path.join(tmp, "config")
        env["XDG_DATA_HOME"] = os.path.join(tmp, "data")
        shell = Shell(shell_name, source_dir, tmp, env)
        commands = drift(shell, surface, problems)
        takes_rule, takes_task = typing(shell, surface, tmp, problems)
    for p in problems:
        print("%s: %s" % (shell_name, p), file=sys.stderr)
    if problems:
        sys.exit(1)
    print("%s: %d command paths match --help; typed lines ok; rule names "
          "for %s; ledger task IDs for %s"
          % (shell_name, commands,
             json.dumps(takes_rule) if takes_rule
             else "no option takes --rule yet", json.dumps(takes_task)))


if __name__ == "__main__":
    main()
