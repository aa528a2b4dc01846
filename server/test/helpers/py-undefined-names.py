"""Print names a Python file reads but never binds (a coarse pyflakes, standard library only).

A code sample can run green and still be broken on a branch it never took (a `raise RetryLater(...)` that only
a 429 reaches); this catches that kind of hole statically. Exit 1 when any name is undefined.
"""

import ast
import builtins
import sys

tree = ast.parse(open(sys.argv[1], encoding="utf-8").read(), sys.argv[1])
bound = set(dir(builtins)) | {"__file__", "__name__"}
for node in ast.walk(tree):
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        bound.add(node.id)
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        bound.add(node.name)
    elif isinstance(node, ast.arg):
        bound.add(node.arg)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        for a in node.names:
            bound.add((a.asname or a.name).split(".")[0])
    elif isinstance(node, ast.ExceptHandler) and node.name:
        bound.add(node.name)
    elif isinstance(node, (ast.Global, ast.Nonlocal)):
        bound.update(node.names)
missing = sorted(
    {(n.id, n.lineno) for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in bound}
)
for name, line in missing:
    print(f"{sys.argv[1]}:{line}: undefined name {name!r}", file=sys.stderr)
sys.exit(1 if missing else 0)
