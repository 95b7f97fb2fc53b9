#!/usr/bin/python3
"""README.md against the product, so a newcomer's copy-and-paste works.

  readme_test.py SOURCE_DIR VSP_BIN PLUGIN_BIN

  * every `vsp SUBCOMMAND --flag` in a shell block exists (vsp --help);
  * every `docker plugin set|install` setting is one config.json declares
    settable (an env name or a mount's source);
  * every VSP_* and VAULT_* name is one the programs read;
  * every `vsp.*` label is in the label vocabulary (core/rules/labels.hpp);
  * every rules file (a YAML block with `rules:`) is accepted by the real
    vsp-plugin, which refuses to start on an invalid one;
  * every file or directory it names (scripts/, deploy/, docs/) and every
    man page (name(section)) and build target exists.

Exit 0, or 1 listing every problem.
"""

import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "bundle"))
import cli_surface  # noqa: E402
import check_config  # noqa: E402

FENCE = re.compile(r"^```(\w*)\s*$")


def blocks(text):
    """[(language, [lines])] of the fenced blocks."""
    out, current, lang = [], None, ""
    for line in text.splitlines():
        m = FENCE.match(line)
        if m and current is None:
            current, lang = [], m.group(1)
        elif m:
            out.append((lang, current))
            current = None
        elif current is not None:
            current.append(line)
    return out


def commands(lines):
    """Shell commands with continuation lines joined, comments dropped."""
    joined, out = "", []
    for line in lines:
        line = re.sub(r"\s+#.*$", "", line) if not line.startswith("#") \
            else ""
        if line.endswith("\\"):
            joined += line[:-1] + " "
            continue
        joined += line
        if joined.strip():
            out.append(joined.strip())
        joined = ""
    return out


def words_of(command):
    try:
        return shlex.split(command)
    except ValueError:
        return []


def check_vsp(words, surface, problems):
    if len(words) < 2 or words[1].startswith("-"):
        return
    # The longest command path the words name ("rules explain").
    path, rest = words[1], 2
    if path not in surface:
        problems.append("`vsp %s`: no such subcommand" % path)
        return
    while (rest < len(words)
           and words[rest] in surface[path]["subcommands"]):
        path, rest = path + " " + words[rest], rest + 1
    if surface[path]["subcommands"]:
        problems.append("`vsp %s` needs one of its subcommands" % path)
        return
    flags = {n for names in surface[path]["options"].values() for n in names}
    for w in words[rest:]:
        if w.startswith("-") and w != "-" and w.split("=")[0] not in flags:
            problems.append("`vsp %s %s`: no such flag" % (path, w))


def check_plugin_settings(words, config, problems):
    settable = {e["name"] for e in config["env"] if e.get("settable")}
    mounts = {m["name"] + ".source" for m in config["mounts"]}
    # `docker plugin set NAME K=V...`, `docker plugin install [...] REF K=V`
    for w in words[3:]:
        if "=" not in w or w.startswith("-"):
            continue
        key = w.split("=")[0]
        if key not in settable and key not in mounts:
            problems.append("`docker plugin %s ... %s`: not a settable "
                            "setting or mount" % (words[2], w))


def check_rules_file(yaml_lines, plugin, problems):
    """Starts vsp-plugin with the rules: it loads them before it binds its
    socket, and refuses to start on any error."""
    with tempfile.TemporaryDirectory(prefix="vsp-readme.") as tmp:
        rules = os.path.join(tmp, "rules.yaml")
        with open(rules, "w") as f:
            f.write("\n".join(yaml_lines) + "\n")
        with open(os.path.join(tmp, "token"), "w") as f:
            f.write("not-a-real-token\n")
        sock = os.path.join(tmp, "vsp.sock")
        env = {"PATH": "/usr/bin:/bin", "VSP_SOCKET": sock,
               "VSP_RULES": rules, "VSP_TOKEN_FILE": os.path.join(tmp, "token"),
               "VAULT_ADDR": "http://127.0.0.1:9",
               "VSP_LEDGER": os.path.join(tmp, "ledger.db")}
        proc = subprocess.Popen([plugin], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            for _ in range(100):
                if os.path.exists(sock) or proc.poll() is not None:
                    break
                time.sleep(0.05)
            if not os.path.exists(sock):
                out = proc.communicate(timeout=10)[0] if proc.poll() \
                    is not None else "no socket after 5 s"
                problems.append("rules file refused by vsp-plugin: %s"
                                % out.strip())
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)


def check_names(text, source_dir, problems):
    read = set(check_config.names_read(source_dir))
    for root in ("cli",):
        for path in glob.glob(os.path.join(source_dir, root, "*.cpp")):
            with open(path, encoding="utf-8") as f:
                read |= set(check_config.NAME.findall(f.read()))
    for name in sorted(set(re.findall(r"\b(?:VSP|VAULT)_[A-Z_]*[A-Z]\b",
                                      text))):
        if name not in read:
            problems.append("%s is not a variable vsp reads" % name)
    with open(os.path.join(source_dir, "core", "rules", "labels.hpp"),
              encoding="utf-8") as f:
        labels = set(re.findall(r'"(vsp\.[a-z-]+)"', f.read()))
    for label in sorted(set(re.findall(r"`(vsp\.[a-z-]+)[=`]", text))):
        if label not in labels:
            problems.append("label %s is not in the vocabulary" % label)


def check_references(text, source_dir, problems):
    for path in sorted(set(re.findall(
            r"(?<![\w/.])((?:scripts|deploy|docs)/[\w./-]*[\w])", text))):
        if not os.path.exists(os.path.join(source_dir, path)):
            problems.append("%s does not exist" % path)
    for name, section in sorted(set(re.findall(
            r"`(vsp[\w-]*)\((\d)\)`", text))):
        if not os.path.exists(os.path.join(source_dir, "man", "%s.%s.scd"
                                           % (name, section))):
            problems.append("man page %s(%s) does not exist"
                            % (name, section))
    cmake = ""
    for path in glob.glob(os.path.join(source_dir, "**", "CMakeLists.txt"),
                          recursive=True):
        with open(path, encoding="utf-8") as f:
            cmake += f.read()
    for target in sorted(set(re.findall(r"--target (\S+)", text))):
        if not re.search(r"add_custom_target\(%s\b" % re.escape(target),
                         cmake):
            problems.append("build target %s does not exist" % target)


def main():
    source_dir, vsp, plugin = sys.argv[1:4]
    with open(os.path.join(source_dir, "README.md"), encoding="utf-8") as f:
        text = f.read()
    surface = cli_surface.surface(vsp)
    config = check_config.load(source_dir)
    problems = []
    rules_files = 0
    for lang, lines in blocks(text):
        if lang == "yaml" and any(l.startswith("rules:") for l in lines):
            check_rules_file(lines, plugin, problems)
            rules_files += 1
        if lang != "sh":
            continue
        for command in commands(lines):
            words = words_of(command)
            if words[:1] == ["vsp"]:
                check_vsp(words, surface, problems)
            elif words[:3] in (["docker", "plugin", "set"],
                               ["docker", "plugin", "install"]):
                check_plugin_settings(words, config, problems)
    check_names(text, source_dir, problems)
    check_references(text, source_dir, problems)
    for p in problems:
        print("README.md: " + p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("README.md: commands, settings, names, %d rules file(s) and "
          "references all match the product" % rules_files)


if __name__ == "__main__":
    main()
