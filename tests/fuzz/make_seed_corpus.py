#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (standard library only, no NumPy).

    python3 tests/fuzz/make_seed_corpus.py      # rewrites tests/fuzz/corpus/{npy,cli}/

corpus/npy/: valid .npy files of every kind the reader accepts (versions 1.0/2.0/3.0, float32
and float64, both byte orders, C and Fortran order, 3-D/4-D, hostile values) and broken ones
(each kind of header damage the reader must refuse). The extension is .bin, not .npy, so that
.gitignore's *.npy rule does not hide them. corpus/cli/: command lines, one per file.
The output is deterministic: running it again changes nothing.
"""

import math
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def header_dict(descr, fortran, shape):
    if len(shape) == 1:
        shape_text = "(%d,)" % shape[0]
    else:
        shape_text = "(" + ", ".join(str(s) for s in shape) + ")"
    return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape_text)


def npy(header, data=b"", major=1, minor=0, pad=True, length=None):
    """Magic, version, header length, the header (padded to 64 bytes, newline) and data."""
    prefix = 10 if major == 1 else 12
    if isinstance(header, str):
        header = header.encode("utf-8" if major == 3 else "latin-1")
    if pad:
        header += b" " * ((64 - (prefix + len(header) + 1) % 64) % 64)
    header += b"\n"
    size = len(header) if length is None else length
    field = struct.pack("<H", size) if major == 1 else struct.pack("<I", size)
    return b"\x93NUMPY" + bytes([major, minor]) + field + header + data


def values(descr, rows, cols, fortran=False, fill=None):
    """rows x cols numbers in the byte layout the descr and the order ask for."""
    fmt = {"f4": "f", "f8": "d"}[descr[1:]]
    order = ">" if descr[0] == ">" else "<"
    grid = [[(fill(r, c) if fill else (r + 1) * 0.5 - c * 0.25 + r * c * 0.125)
             for c in range(cols)] for r in range(rows)]
    flat = ([grid[r][c] for c in range(cols) for r in range(rows)] if fortran
            else [grid[r][c] for r in range(rows) for c in range(cols)])
    return struct.pack(order + fmt * len(flat), *flat)


def valid_files():
    files = {}
    for descr in ("<f8", "<f4", ">f8", ">f4"):
        for fortran in (False, True):
            name = "valid_%s_%s_4x3" % (descr[1:] + ("be" if descr[0] == ">" else "le"),
                                        "fortran" if fortran else "c")
            files[name] = npy(header_dict(descr, fortran, (4, 3)),
                              values(descr, 4, 3, fortran))
    files["valid_v2_f8_3x2"] = npy(header_dict("<f8", False, (3, 2)), values("<f8", 3, 2), major=2)
    files["valid_v3_f4_3x2"] = npy(header_dict("<f4", False, (3, 2)), values("<f4", 3, 2), major=3)
    # 3-D (5, 2, 3) read as 5 x 6; C and Fortran order (Fortran: first index fastest).
    data_c = struct.pack("<30d", *[i * 0.5 for i in range(30)])
    files["valid_3d_c"] = npy(header_dict("<f8", False, (5, 2, 3)), data_c)
    files["valid_3d_fortran"] = npy(header_dict("<f8", True, (5, 2, 3)), data_c)
    files["valid_4d_f4be_fortran"] = npy(header_dict(">f4", True, (3, 2, 2, 2)),
                                         struct.pack(">24f", *[i - 7.0 for i in range(24)]))
    files["valid_unpadded_header"] = npy(header_dict("<f8", False, (2, 2)), values("<f8", 2, 2),
                                         pad=False)
    files["valid_trailing_bytes"] = npy(header_dict("<f8", False, (2, 2)),
                                        values("<f8", 2, 2) + b"\x00trailing")
    files["valid_key_order_double_quotes"] = npy(
        '{"shape": (3, 2), "fortran_order": False, "descr": "<f4"}', values("<f4", 3, 2))
    files["valid_whitespace_no_trailing_comma"] = npy(
        "{ 'descr' : '<f8' ,\t'fortran_order' : False , 'shape' : ( 3 , 2 ) }", values("<f8", 3, 2))
    files["valid_native_order_descr"] = npy(header_dict("=f8", False, (2, 3)), values("<f8", 2, 3))
    files["valid_two_rows"] = npy(header_dict("<f8", False, (2, 5)), values("<f8", 2, 5))
    files["valid_one_column"] = npy(header_dict("<f8", False, (9, 1)), values("<f8", 9, 1))
    # A spectrum the fit can use: 40 rows of 8 features of decaying scale.
    files["valid_fit_window_40x8"] = npy(
        header_dict("<f8", False, (40, 8)),
        values("<f8", 40, 8, fill=lambda r, c: math.sin(1.7 * r * (c + 1) + c) / (c + 1)))
    # Hostile values the numerics must survive or refuse clearly.
    files["values_mean_1e6_times_spread"] = npy(
        header_dict("<f8", False, (12, 4)),
        values("<f8", 12, 4, fill=lambda r, c: 1e6 + math.cos(r * 3.1 + c) / (c + 1)))
    files["values_constant_columns"] = npy(
        header_dict("<f8", False, (10, 4)),
        values("<f8", 10, 4, fill=lambda r, c: 0.1 if c % 2 else r * 0.3 + c))
    files["values_float32_near_overflow"] = npy(
        header_dict("<f4", False, (8, 3)),
        values("<f4", 8, 3, fill=lambda r, c: (3e38 if (r + c) % 2 else -1e38) / (r + 1)))
    files["values_float32_denormal"] = npy(
        header_dict("<f4", False, (8, 3)),
        values("<f4", 8, 3, fill=lambda r, c: 1e-40 * ((r * 7 + c * 3) % 11 - 5)))
    files["values_float64_huge"] = npy(
        header_dict("<f8", False, (6, 3)),
        values("<f8", 6, 3, fill=lambda r, c: 1e200 * ((r + 2 * c) % 5 - 2)))
    files["values_float64_denormal"] = npy(
        header_dict("<f8", False, (6, 3)),
        values("<f8", 6, 3, fill=lambda r, c: 5e-320 * ((r + 2 * c) % 5 - 2)))
    files["values_nan"] = npy(header_dict("<f8", False, (3, 2)),
                              values("<f8", 3, 2, fill=lambda r, c: math.nan if r == 2 else r))
    files["values_inf"] = npy(header_dict("<f4", False, (3, 2)),
                              values("<f4", 3, 2, fill=lambda r, c: math.inf if c == 1 else r))
    files["values_collinear"] = npy(
        header_dict("<f8", False, (7, 4)),
        values("<f8", 7, 4, fill=lambda r, c: (r * r - 3 * r) * (2.0 ** c)))
    return files


def broken_files():
    good = values("<f8", 4, 3)
    h = lambda **kw: header_dict(kw.get("descr", "<f8"), kw.get("fortran", False),
                                 kw.get("shape", (4, 3)))
    files = {
        "broken_empty": b"",
        "broken_magic_only": b"\x93NUMPY",
        "broken_wrong_magic": b"\x93NUMPX\x01\x00" + npy(h(), good)[8:],
        "broken_text_file": b"this is not a .npy file\n1,2,3\n",
        "broken_version_4_0": npy(h(), good, major=4),
        "broken_version_1_1": npy(h(), good, minor=1),
        "broken_header_length_past_end": npy(h(), good, length=60000),
        "broken_truncated_header": npy(h(), good)[:40],
        "broken_truncated_data": npy(h(), good)[:-5],
        "broken_1d": npy(h(shape=(12,)), good),
        "broken_0d": npy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", good[:8]),
        "broken_zero_dimension": npy(h(shape=(4, 0)), b""),
        "broken_single_row": npy(h(shape=(1, 3)), good[:24]),
        "broken_negative_shape": npy(h(shape=(4, -3)), good),
        "broken_shape_overflow": npy(h(shape=(4611686018427387904, 4)), good),
        "broken_shape_integer_too_large": npy(h().replace("(4, 3)", "(99999999999999999999, 3)"), good),
        "broken_int_dtype": npy(h(descr="<i4"), good),
        "broken_bool_dtype": npy(h(descr="|b1"), good),
        "broken_complex_dtype": npy(h(descr="<c16"), good),
        "broken_float16_dtype": npy(h(descr="<f2"), good),
        "broken_bar_order_float": npy(h(descr="|f8"), good),
        "broken_bogus_descr": npy(h(descr="<x9"), good),
        "broken_structured_dtype": npy(
            "{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (4, 3), }", good),
        "broken_missing_key": npy("{'descr': '<f8', 'shape': (4, 3), }", good),
        "broken_duplicate_key": npy("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, "
                                    "'shape': (4, 3), }", good),
        "broken_unknown_key": npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), "
                                  "'extra': 1, }", good),
        "broken_fortran_order_not_bool": npy(h().replace("False", "'no'"), good),
        "broken_shape_list": npy(h().replace("(4, 3)", "[4, 3]"), good),
        "broken_shape_nested": npy(h().replace("(4, 3)", "((4, 3), 2)"), good),
        "broken_unterminated_string": npy("{'descr': '<f8, 'fortran_order': False}", good),
        "broken_missing_brace": npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3)", good),
        "broken_text_after_brace": npy(h() + " junk", good),
        "broken_not_a_dict": npy("['descr', '<f8']", good),
        "broken_latin1_bytes": npy(b"{'descr': '<f8\xe9', 'fortran_order': False, 'shape': (4, 3), }",
                                   good),
        "broken_deeply_nested": npy("{'descr': " + "(" * 200 + "'<f8'" + ")" * 200 +
                                    ", 'fortran_order': False, 'shape': (4, 3), }", good),
    }
    return files


def label_files():
    """Class-label files (load_npy_labels): int32/int64, 1-D or (n, 1); and broken ones."""
    def labels(descr, shape, items, **kw):
        fmt = {"i4": "i", "i8": "q"}[descr[1:]]
        order = ">" if descr[0] == ">" else "<"
        return npy(header_dict(descr, False, shape), struct.pack(order + fmt * len(items), *items),
                   **kw)
    return {
        "labels_valid_i4_1d": labels("<i4", (6,), [0, 1, 2, 1, 0, 3]),
        "labels_valid_i8be_column": labels(">i8", (4, 1), [5, 0, 2, 2]),
        "labels_valid_i8_v2": labels("<i8", (3,), [1, 0, 1], major=2),
        "labels_broken_negative": labels("<i4", (3,), [0, -1, 2]),
        "labels_broken_beyond_int32": labels("<i8", (2,), [0, 2 ** 31]),
        "labels_broken_two_columns": labels("<i4", (2, 2), [0, 1, 1, 0]),
        "labels_broken_truncated": labels("<i4", (5,), [0, 1, 2]),
        "labels_broken_float": npy(header_dict("<f4", False, (2,)), struct.pack("<2f", 0.0, 1.0)),
        "labels_broken_empty": npy(header_dict("<i4", False, (0,)), b""),
    }


CLI_LINES = [
    "",
    "demo",
    "demo --n 100 --d 8",
    "demo --n 50 --d 5 --alpha 1.5 --seed 3 --offset 1e6 --first 1 --last 4",
    "features.npy",
    "features.npy --first 1 --last 50 --method ols --json",
    "--first=3 --last=9 x.npy",
    "--backend cuda --precision float32 --normalization n-1 --eigenvalues-out ev.npy --quiet a.npy",
    "--backend=auto --method=weighted --normalization=n --precision=float64 a.npy",
    "--help",
    "-h demo",
    "--version",
    "--json --quiet demo --n 2 --d 1",
    # Usage errors.
    "--first",
    "--first abc a.npy",
    "--first= a.npy",
    "--last 99999999999999999999 a.npy",
    "--n -5 demo",
    "--alpha nan demo",
    "--alpha 1e999 demo",
    "--seed -1 demo",
    "a.npy b.npy",
    "demo x.npy",
    "--unknown 3",
    "--normalization x a.npy",
    "--precision tf32 a.npy",
    "--backend gpu a.npy",
    "--method least-squares a.npy",
    "--eigenvalues-out",
    "- -- --- ---- =",
    "--=x",
    "--first=--last=3",
    # alphareq probe / table1 (their own option lists).
    "probe --train x.npy --train-labels y.npy --test x.npy --test-labels y.npy --epochs 3",
    "probe --optimizer=adam --batch-size=64 --lr 0.01 --weight-decay 1e-4 --seed 2 --json",
    "probe --epochs",
    "probe --epochs=abc --lr=",
    "probe --bogus 1",
    "table1 --quick --datasets CIFAR10,STL10 --repeats 1 --cpu-epochs 1 --backend cpu",
    "table1 --repeats=99999999999999999999",
    "table1 --quick=1",
]


def write_corpus(folder, named_bytes):
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    for name, data in sorted(named_bytes.items()):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


def main():
    npy_files = {name + ".bin": data
                 for name, data in {**valid_files(), **broken_files(), **label_files()}.items()}
    write_corpus(os.path.join(HERE, "corpus", "npy"), npy_files)
    cli_files = {"line_%02d.txt" % i: (line + "\n").encode() for i, line in enumerate(CLI_LINES)}
    write_corpus(os.path.join(HERE, "corpus", "cli"), cli_files)
    print("wrote %d .npy seeds and %d command-line seeds" % (len(npy_files), len(cli_files)))


if __name__ == "__main__":
    main()
