#!/usr/bin/env python3
"""psgm's modules include one another without a cycle (docs/design.md §1).

And only the MPI layer (include/psgm/mpi, src/mpi), the CLI and the tests
include mpi.h: libpsgm stays MPI-free (docs/scaling.md §1).

A module is a folder of include/psgm/ together with its src/ folder of the
same name; module A uses module B when a file of A includes <psgm/B/...>.
The check fails, naming one include per edge of the cycle, when the modules
that use one another form a cycle, and when model/ (what a model is, §10)
uses anything but core/.

    /usr/bin/python3 tests/layering/check_module_includes.py [REPO]
"""
import re
import sys
from pathlib import Path

MPI_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]mpi\.h[>"]')
MPI_USERS = {"mpi", "cli"}
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]psgm/([A-Za-z_][A-Za-z0-9_]*)/')
SOURCES = {".hpp", ".h", ".cpp", ".cc", ".cu", ".in"}
# What a module may use at all, where the design fixes it.
ALLOWED = {"core": set(), "model": {"core"}}


def module_edges(repo):
    """{(user, used): first 'file:line' that includes it}."""
    edges = {}
    roots = [repo / "include" / "psgm", repo / "src"]
    for root in roots:
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            user = folder.name
            for path in sorted(folder.rglob("*")):
                if path.suffix not in SOURCES or not path.is_file():
                    continue
                for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                    match = INCLUDE.match(line)
                    if match and match.group(1) != user:
                        edges.setdefault((user, match.group(1)), f"{path.relative_to(repo)}:{number}")
    return edges


def mpi_includes(repo):
    """'file:line' of every mpi.h include outside the MPI layer and the CLI."""
    found = []
    for root in (repo / "include" / "psgm", repo / "src"):
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.suffix not in SOURCES or not path.is_file():
                continue
            if path.relative_to(root).parts[0] in MPI_USERS:
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if MPI_INCLUDE.match(line):
                    found.append(f"{path.relative_to(repo)}:{number}")
    return found


def strongly_connected(nodes, successors):
    """Tarjan's algorithm; returns the components of more than one module."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in successors.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return components


def main():
    repo = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]).resolve()
    edges = module_edges(repo)
    if not edges:
        print(f"no psgm includes found under {repo}: wrong repository root?")
        return 1
    successors = {}
    for user, used in edges:
        successors.setdefault(user, set()).add(used)
    nodes = set(successors) | {used for _, used in edges}
    problems = []
    for component in strongly_connected(nodes, successors):
        members = set(component)
        lines = [f"  {user} -> {used}: {where}" for (user, used), where in sorted(edges.items())
                 if user in members and used in members]
        problems.append("modules that include one another in a cycle: " + ", ".join(component) + "\n" +
                        "\n".join(lines))
    for module, allowed in ALLOWED.items():
        for (user, used), where in sorted(edges.items()):
            if user == module and used not in allowed:
                problems.append(f"{module}/ may use only {sorted(allowed) or 'nothing'}, "
                                f"but uses {used}/: {where}")
    for where in mpi_includes(repo):
        problems.append(f"only include/psgm/mpi, src/mpi and src/cli may include mpi.h: {where}")
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"{len(nodes)} modules, {len(edges)} module dependencies, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
