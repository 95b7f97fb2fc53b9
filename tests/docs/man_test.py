#!/usr/bin/python3
"""Checks vsp's man pages.

  man_test.py lint SOURCE_DIR MAN_BUILD_DIR
      Every man/*.scd was built, and `mandoc -T lint -W warning` reports
      nothing on any built page.
  man_test.py coverage SOURCE_DIR VSP_BIN
      The pages against the programs: vsp(1) lists every subcommand of
      `vsp --help`, each subcommand has its page vsp-<path>(1) documenting
      every flag and argument of its --help, and no page documents a subcommand or flag
      that does not exist; the flags of a command that only groups
      subcommands (vsp rules) are in vsp(1). vsp-plugin(8) documents every setting and mount
      of the bundle's config.json and every variable the plugin reads.

Exit 0, 77 (mandoc or the built pages missing: scdoc not installed), or
1 listing every problem.
"""

import glob
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "bundle"))
import cli_surface  # noqa: E402
import check_config  # noqa: E402

HEADING = re.compile(r"^# (.+)$")
TERM = re.compile(r"^\*([^*]+)\*")


def skip(why):
    print("SKIP: " + why, file=sys.stderr)
    sys.exit(77)


def sections(path):
    """{heading: [lines]} of an scdoc source."""
    out, current, verbatim = {}, None, False
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            if line.startswith("```"):
                verbatim = not verbatim
            m = None if verbatim else HEADING.match(line)
            if m:
                current = m.group(1)
                out[current] = []
            elif current:
                out[current].append(line)
    return out


def terms(lines):
    """The terms of a definition list: lines starting with *term*, split
    at ", " (so "*-h*, *--help*" gives -h and --help)."""
    found = []
    for line in lines:
        if not TERM.match(line):
            continue
        found.extend(re.findall(r"\*([^*]+)\*", line.split("\t")[0]))
    return [t.replace("\\_", "_") for t in found]


def lint(source_dir, man_dir):
    if not shutil.which("mandoc"):
        skip("mandoc not installed (apt-get install mandoc)")
    sources = sorted(glob.glob(os.path.join(source_dir, "man", "*.scd")))
    if not os.path.isdir(man_dir):
        skip("no built man pages in %s (apt-get install scdoc)" % man_dir)
    problems = []
    for source in sources:
        page = os.path.basename(source)[:-len(".scd")]
        built = os.path.join(man_dir, "man" + page[-1], page)
        if not os.path.exists(built):
            problems.append("%s was not built" % page)
            continue
        out = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", built],
                             capture_output=True, text=True)
        report = (out.stdout + out.stderr).strip()
        if out.returncode != 0 or report:
            problems.append("%s: %s" % (page, report or out.returncode))
    return problems, "%d pages lint clean" % len(sources)


def page_name(path):
    return "vsp" + ("-" + path.replace(" ", "-") if path else "")


def cli_coverage(source_dir, surface, problems):
    man = os.path.join(source_dir, "man")
    leaves = sorted(p for p, c in surface.items() if p and not c["subcommands"])
    listed = terms(sections(os.path.join(man, "vsp.1.scd"))
                   .get("SUBCOMMANDS", []))
    for path in leaves:
        if path not in listed:
            problems.append("vsp(1) does not list subcommand '%s'" % path)
    for name in listed:
        if name not in leaves:
            problems.append("vsp(1) lists '%s', which vsp --help lacks" % name)
    # A command that only groups subcommands ("vsp rules") has no page of
    # its own: its flags are documented in vsp(1).
    root_documented = set(terms(sections(os.path.join(man, "vsp.1.scd"))
                                .get("OPTIONS", [])))
    groups = sorted(p for p, c in surface.items() if p and c["subcommands"])
    for path in groups:
        for names in surface[path]["options"].values():
            for name in names:
                if name not in root_documented:
                    problems.append("vsp(1) does not document %s of 'vsp %s'"
                                    % (name, path))
    for path in [""] + leaves:
        source = os.path.join(man, page_name(path) + ".1.scd")
        if not os.path.exists(source):
            problems.append("no page %s(1) for 'vsp %s'"
                            % (page_name(path), path))
            continue
        with open(source, encoding="utf-8") as f:
            text = f.read()
        for name in surface[path]["positionals"]:
            if "_%s_" % name not in text:
                problems.append("%s(1) does not mention argument _%s_"
                                % (page_name(path), name))
        documented = set(terms(sections(source).get("OPTIONS", [])))
        for option, names in sorted(surface[path]["options"].items()):
            for name in names:
                if name not in documented:
                    problems.append("%s(1) does not document %s"
                                    % (page_name(path), name))
        flags = {n for names in surface[path]["options"].values()
                 for n in names}
        for name in sorted(documented):
            if name.startswith("-") and name.split()[0] not in flags:
                problems.append("%s(1) documents %s, which vsp %s --help "
                                "lacks" % (page_name(path), name, path))
    known = {page_name(p) for p in [""] + leaves}
    for source in glob.glob(os.path.join(man, "vsp*.1.scd")):
        name = os.path.basename(source)[:-len(".1.scd")]
        if name not in known:
            problems.append("%s(1) documents no subcommand of vsp --help"
                            % name)
    return len(leaves)


def plugin_coverage(source_dir, problems):
    page = sections(os.path.join(source_dir, "man", "vsp-plugin.8.scd"))
    settings = set(terms(page.get("SETTINGS", [])))
    mounts = set(terms(page.get("MOUNTS", [])))
    config = check_config.load(source_dir)
    declared = {e["name"] for e in config["env"]}
    read = set(check_config.names_read(source_dir)) - check_config.CREDENTIALS
    for name in sorted(declared | read):
        if name not in settings:
            problems.append("vsp-plugin(8) SETTINGS lacks %s" % name)
    for name in sorted(settings - declared):
        problems.append("vsp-plugin(8) documents %s, which config.json does "
                        "not declare" % name)
    for m in config["mounts"]:
        if m["name"] not in mounts:
            problems.append("vsp-plugin(8) MOUNTS lacks %s" % m["name"])
    for name in sorted(mounts - {m["name"] for m in config["mounts"]}):
        problems.append("vsp-plugin(8) documents mount %s, which config.json "
                        "does not declare" % name)
    return len(settings), len(mounts)


def coverage(source_dir, vsp):
    problems = []
    surface = cli_surface.surface(vsp)
    leaves = cli_coverage(source_dir, surface, problems)
    settings, mounts = plugin_coverage(source_dir, problems)
    return problems, ("vsp(1) and %d subcommand pages match --help; "
                      "vsp-plugin(8) has %d settings, %d mounts"
                      % (leaves, settings, mounts))


def main():
    mode, source_dir, arg = sys.argv[1:4]
    if mode == "lint":
        problems, summary = lint(source_dir, arg)
    else:
        problems, summary = coverage(source_dir, arg)
    for p in problems:
        print("man: " + p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("man: " + summary)


if __name__ == "__main__":
    main()
