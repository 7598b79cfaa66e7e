#!/usr/bin/env python3
"""Rewrites one kernels/cuda/*.cu file into host C++ for the CUDA emulation (README.md). Usage:
rewrite.py SOURCE.cu OUTPUT.cpp. Only what host C++ cannot express changes:
  kernel<<<grid, block[, bytes]>>>(args)  ->  launch_kernel("kernel", LaunchConfig(grid, block[, bytes]),
                                                            &kernel, args)
  __shared__ T a[N], b;                   ->  auto& a = shared<T[N]>(0); auto& b = shared<T>(1);
  extern __shared__ T a[];                ->  T* a = dynamic_shared<T>();
(all in ::lectern::cuda_emulation). Everything else, the kernels' bodies included, is left as it is, and
each replacement keeps the line count, so that with the #line at the top, diagnostics and the emulation's
reports name the .cu file's own lines. Anything it cannot parse stops the build with the line."""
import itertools
import re
import sys

NS = "::lectern::cuda_emulation::"


def fail(source, path, position, what):
    line = source.count("\n", 0, position) + 1
    sys.exit(f"{path}:{line}: rewrite.py: {what}")


def mask(source):
    """The source with comments and string and character literals blanked (newlines kept): the patterns
    below search this, so that they see code only, at the same positions as in the source."""
    out = list(source)
    i = 0
    while i < len(source):
        if source.startswith("//", i):
            end = source.find("\n", i)
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2) + 2
        elif source[i] == '"' or (source[i] == "'" and not source[i - 1].isalnum()):  # not 1'000
            end = i + 1
            while end < len(source) and source[end] != source[i]:
                end += 2 if source[end] == "\\" else 1
            end += 1
        else:
            i += 1
            continue
        end = len(source) if end <= i else end
        for k in range(i, end):
            if out[k] != "\n":
                out[k] = " "
        i = end
    return "".join(out)


def matching(code, start, opening, closing):
    """Index of the bracket closing the one at `start`, or -1."""
    depth = 0
    for i in range(start, len(code)):
        if code[i] == opening:
            depth += 1
        elif code[i] == closing:
            depth -= 1
            if depth == 0:
                return i
    return -1


def split_top_level(text):
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += c in "([{<"
        depth -= c in ")]}>"
        if c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def same_lines(original, replacement):
    return replacement + "\n" * (original.count("\n") - replacement.count("\n"))


def shared_replacement(code, path, match, ids):
    declarators = split_top_level(" ".join(match.group("body").split()))
    first = re.fullmatch(r"(?P<type>.+?)\s*\b(?P<name>\w+)\s*(?P<dims>(\[[^\]]*\]\s*)*)", declarators[0])
    if not first or "=" in match.group("body"):
        fail(code, path, match.start(), f"cannot read the __shared__ declaration `{match.group(0)}`")
    out = []
    for i, declarator in enumerate(declarators):
        d = first if i == 0 else re.fullmatch(r"(?P<name>\w+)\s*(?P<dims>(\[[^\]]*\]\s*)*)", declarator)
        if not d:
            fail(code, path, match.start(), f"cannot read the __shared__ declarator `{declarator}`")
        dims = d.group("dims").replace(" ", "")
        out.append(f"auto& {d.group('name')} = {NS}shared<{first.group('type')}{dims}>({next(ids)});")
    return " ".join(out)


def rewrite_shared(source, path):
    code = mask(source)
    edits = []
    for m in re.finditer(r"\bextern\s+__shared__\s+(?P<type>[^;\[]+?)\s+(?P<name>\w+)\s*\[\s*\]\s*;", code):
        edits.append((m.start(), m.end(), f"{m.group('type')}* {m.group('name')} = {NS}dynamic_shared<{m.group('type')}>();"))
    ids = itertools.count()  # the variable's id in this file: its slot in each block's shared memory
    for m in re.finditer(r"\b__shared__\s+(?P<body>[^;]+);", code):
        if not any(start <= m.start() < end for start, end, _ in edits):
            edits.append((m.start(), m.end(), shared_replacement(code, path, m, ids)))
    return apply(source, edits)


def kernel_start(code, path, launch):
    """Start of the kernel expression before `<<<`: a qualified name, with template arguments."""
    k = launch
    while code[k - 1].isspace():
        k -= 1
    if code[k - 1] == ">":
        depth = 0
        while True:
            k -= 1
            depth += code[k] == ">"
            depth -= code[k] == "<"
            if depth == 0:
                break
    while k > 0 and (code[k - 1].isalnum() or code[k - 1] in "_:"):
        k -= 1
    if k == launch:
        fail(code, path, launch, "no kernel name before <<<")
    return k


def rewrite_launches(source, path):
    code = mask(source)
    edits = []
    for m in re.finditer(r"<<<", code):
        config_end = code.find(">>>", m.end())
        paren = config_end + 3
        while 0 <= config_end and paren < len(code) and code[paren].isspace():
            paren += 1
        if config_end < 0 or paren >= len(code) or code[paren] != "(":
            fail(code, path, m.start(), "a launch without >>>(arguments)")
        close = matching(code, paren, "(", ")")
        if close < 0:
            fail(code, path, paren, "unclosed launch arguments")
        start = kernel_start(code, path, m.start())
        kernel = source[start:m.start()].strip()
        config = source[m.end():config_end]
        args = source[paren + 1:close]  # as written, line breaks included
        call = (f'{NS}launch_kernel("{"".join(kernel.split())}", {NS}LaunchConfig({config}), &{kernel}'
                + ("," + ("" if args[0].isspace() else " ") + args if args.strip() else "") + ")")
        edits.append((start, close + 1, call))
    return apply(source, edits)


def apply(source, edits):
    out, at = [], 0
    for start, end, text in sorted(edits):
        out += [source[at:start], same_lines(source[start:end], text)]
        at = end
    return "".join(out + [source[at:]])


def main():
    source_path, output_path = sys.argv[1:]
    with open(source_path, encoding="utf-8") as f:
        source = f.read()
    source = rewrite_launches(rewrite_shared(source, source_path), source_path)
    with open(output_path, "w", encoding="utf-8") as f:
        f.write(f'#line 1 "{source_path}"\n{source}')


if __name__ == "__main__":
    main()
