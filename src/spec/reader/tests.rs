//! Tests of the reader: integers, unknown keys and string arrays, with their located errors.

use super::*;

/// Reads `key` of the table `[t]` in `doc` as an integer; returns the value or the first
/// error's message (with hint).
fn int_of(doc: &str) -> Result<i64, String> {
    let mut r = Reader::new(Path::new("t.toml"), doc);
    let Ok(parsed) = DeTable::parse(doc) else {
        return Err("syntax".to_string());
    };
    let root = r.root(&parsed);
    let v = r
        .table(&root, "t", true)
        .and_then(|t| r.integer(&t, "n", true));
    match (v, r.errors.first()) {
        (Some(v), None) => Ok(v.value),
        (_, Some(e)) => Err(e.to_string()),
        (None, None) => Err("no value and no error".to_string()),
    }
}

#[test]
fn integers_and_their_errors() {
    struct Case {
        reason: &'static str,
        doc: &'static str,
        want: Result<i64, &'static str>,
    }
    let cases = [
        Case {
            reason: "decimal",
            doc: "[t]\nn = 30\n",
            want: Ok(30),
        },
        Case {
            reason: "underscores are digit separators",
            doc: "[t]\nn = 1_096\n",
            want: Ok(1096),
        },
        Case {
            reason: "hexadecimal",
            doc: "[t]\nn = 0x1e\n",
            want: Ok(30),
        },
        Case {
            reason: "negative",
            doc: "[t]\nn = -7\n",
            want: Ok(-7),
        },
        Case {
            reason: "inline table",
            doc: "t = { n = 5 }\n",
            want: Ok(5),
        },
        Case {
            reason: "dotted key",
            doc: "t.n = 6\n",
            want: Ok(6),
        },
        Case {
            reason: "float where an integer is expected",
            doc: "[t]\nn = 2.0\n",
            want: Err(
                "t.toml:2:5: wrong type for t.n: expected integer, found float 2.0\n  \
                       hint: write a whole number",
            ),
        },
        Case {
            reason: "quoted number",
            doc: "[t]\nn = \"30\"\n",
            want: Err("found string \"30\"\n  hint: remove the quotes: 30"),
        },
        Case {
            reason: "missing key points at the table header",
            doc: "# x\n[t]\nm = 1\n",
            want: Err("t.toml:2:1: missing required key \"t.n\" (integer) in [t]"),
        },
        Case {
            reason: "missing table points at the top of the file",
            doc: "[u]\nn = 1\n",
            want: Err("t.toml:1:1: missing table [t]"),
        },
        Case {
            reason: "array of tables is not a table",
            doc: "[[t]]\nn = 1\n",
            want: Err("t.toml:1:1: wrong type for t: expected table, found array"),
        },
        Case {
            reason: "integer beyond i64",
            doc: "[t]\nn = 0xffffffffffffffffff\n",
            want: Err("t.toml:2:5: integer 0xffffffffffffffffff for t.n is out of range"),
        },
    ];
    for c in cases {
        match (int_of(c.doc), c.want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{}", c.reason),
            (Err(got), Err(want)) => assert!(got.contains(want), "{}: {got}", c.reason),
            (got, want) => panic!("{}: got {got:?}, want {want:?}", c.reason),
        }
    }
}

#[test]
fn unknown_keys_and_string_arrays() {
    struct Case {
        reason: &'static str,
        doc: &'static str,
        want: &'static [&'static str],
    }
    let cases = [
        Case {
            reason: "known keys only: no error",
            doc: "[t]\nlist = [\"a\"]\nname = \"x\"\n",
            want: &[],
        },
        Case {
            reason: "unknown keys reported in file order, each with the valid keys",
            doc: "[t]\nzeta = 1\nlist = []\nalpha = 2\n",
            want: &[
                "t.toml:2:1: unknown key \"zeta\" in [t]\n  hint: valid keys in [t]: \
                 list, name",
                "t.toml:4:1: unknown key \"alpha\" in [t]",
            ],
        },
        Case {
            reason: "a close key gets a did-you-mean",
            doc: "[t]\nnmae = \"x\"\n",
            want: &["did you mean \"name\"?"],
        },
        Case {
            reason: "every non-string item of an array is reported",
            doc: "[t]\nlist = [1, \"b\", true]\n",
            want: &[
                "t.toml:2:9: wrong type for t.list[0]: expected string, found integer",
                "t.toml:2:17: wrong type for t.list[2]: expected string, found boolean",
            ],
        },
        Case {
            reason: "a table where a string is expected",
            doc: "[t]\n[t.name]\nx = 1\n",
            want: &["wrong type for t.name: expected string, found table"],
        },
    ];
    for c in cases {
        let mut r = Reader::new(Path::new("t.toml"), c.doc);
        let Ok(parsed) = DeTable::parse(c.doc) else {
            panic!("{}: syntax", c.reason);
        };
        let root = r.root(&parsed);
        if let Some(t) = r.table(&root, "t", true) {
            r.unknown_keys(&t, &["list", "name"]);
            r.string_array(&t, "list", false);
            r.string(&t, "name", false);
        }
        let got: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
        assert_eq!(got.len(), c.want.len(), "{}: {got:#?}", c.reason);
        for (g, w) in got.iter().zip(c.want) {
            assert!(g.contains(w), "{}: want {w:?} in {g}", c.reason);
        }
    }
}

#[test]
fn every_key_read_is_located_at_its_line() {
    let doc = "# header\n\
               [t]\n\
               name = \"x\"\n\
               list = [\n  \"a\",\n  \"b\",\n]\n\
               inline = { n = 5 }\n\
               \n\
               [t.nested]\n\
               n = 7\n\
               \n\
               [tags]\n\
               Owner = \"me\"\n";
    let mut r = Reader::new(Path::new("specs/t.toml"), doc);
    let parsed = DeTable::parse(doc).expect("valid TOML");
    let root = r.root(&parsed);
    let t = r.table(&root, "t", true).expect("[t]");
    r.string(&t, "name", true);
    r.string_array(&t, "list", true);
    r.string(&t, "absent", false);
    if let Some(inline) = r.table(&t, "inline", true) {
        r.integer(&inline, "n", true);
    }
    if let Some(nested) = r.table(&t, "nested", true) {
        r.integer(&nested, "n", true);
    }
    if let Some(tags) = r.table(&root, "tags", true) {
        r.string_entries(&tags);
    }
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let cases = [
        ("a root table at its header", "t", Some(2)),
        ("a key", "t.name", Some(3)),
        ("an array at its key", "t.list", Some(4)),
        ("an array's first entry", "t.list[0]", Some(5)),
        ("an array's second entry", "t.list[1]", Some(6)),
        ("an inline table", "t.inline", Some(8)),
        ("a key of an inline table", "t.inline.n", Some(8)),
        ("a nested table at its header", "t.nested", Some(10)),
        ("a key of a nested table", "t.nested.n", Some(11)),
        ("a table of string entries", "tags.Owner", Some(14)),
        ("an optional key left out", "t.absent", None),
    ];
    for (reason, key, want) in cases {
        assert_eq!(r.provenance.line(key), want, "{reason}: {key}");
    }
    assert_eq!(r.provenance.file, "specs/t.toml");
}
