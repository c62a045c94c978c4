//! Marked regions of a source file: what the handout takes out.
//!
//! A marker is a line of its own whose text, behind the file's comment
//! leader (`//`, `#` or `<!--` ... `-->`), is one of:
//!
//! - `BEGIN SOLUTION` ... `END SOLUTION`: code the student writes. In the
//!   reference it is ordinary code; in the handout the region is replaced
//!   by its stub.
//! - `BEGIN HIDDEN` ... `END HIDDEN`: the hidden checks, which the
//!   platforms grade with (the grading kit, [`Audience::Grading`], keeps them) and
//!   students do not see (the handout replaces the region by its stub).
//! - `BEGIN INSTRUCTOR` ... `END INSTRUCTOR`: material only the instructor's
//!   copy has (instructor-only tests, workspace members); replaced by its
//!   stub in the handout and in the kit.
//! - `STUB: <line>`, inside a region: a line of the stub, written into the
//!   handout without the marker and at the marker's indentation. A region
//!   without one is simply removed.
//!
//! Regions do not nest, and every `BEGIN` has its `END` in the same file.

use std::fmt;

/// Which kind of region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Code the student writes.
    Solution,
    /// The hidden checks: in the grading kit, not in the handout.
    Hidden,
    /// What only the instructor's copy has.
    Instructor,
}

/// Who a copy of the workspace is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Students: the handout, every region replaced by its stub.
    Students,
    /// The platforms that grade: the grading kit, with the handout's stubs
    /// and the `HIDDEN` regions as they are.
    Grading,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Solution => "SOLUTION",
            Kind::Hidden => "HIDDEN",
            Kind::Instructor => "INSTRUCTOR",
        })
    }
}

/// A line's meaning to the region parser.
#[derive(Debug, PartialEq, Eq)]
enum Marker<'a> {
    Begin(Kind),
    End(Kind),
    /// A stub line: its indentation and its text.
    Stub(&'a str, &'a str),
    None,
}

fn marker(line: &str) -> Marker<'_> {
    let indent = &line[..line.len() - line.trim_start().len()];
    let text = line.trim();
    let Some(body) = ["//", "#", "<!--"]
        .iter()
        .find_map(|leader| text.strip_prefix(leader))
    else {
        return Marker::None;
    };
    let body = body.trim_end_matches("-->").trim();
    match body {
        "BEGIN SOLUTION" => Marker::Begin(Kind::Solution),
        "END SOLUTION" => Marker::End(Kind::Solution),
        "BEGIN HIDDEN" => Marker::Begin(Kind::Hidden),
        "END HIDDEN" => Marker::End(Kind::Hidden),
        "BEGIN INSTRUCTOR" => Marker::Begin(Kind::Instructor),
        "END INSTRUCTOR" => Marker::End(Kind::Instructor),
        _ => match body.strip_prefix("STUB:") {
            Some(stub) => Marker::Stub(indent, stub.strip_prefix(' ').unwrap_or(stub)),
            None => Marker::None,
        },
    }
}

/// What is wrong with a file's markers, with its line number (from 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    /// A `BEGIN` inside another region.
    #[error("line {line}: BEGIN {kind} inside a region opened on line {open}")]
    Nested {
        /// The line of the second `BEGIN`.
        line: usize,
        /// Its kind.
        kind: Kind,
        /// The line of the region it is in.
        open: usize,
    },
    /// An `END` that closes no region, or another kind of region.
    #[error("line {line}: END {kind} closes no BEGIN {kind}")]
    Unopened {
        /// The line of the `END`.
        line: usize,
        /// Its kind.
        kind: Kind,
    },
    /// A region still open at the end of the file.
    #[error("line {line}: BEGIN {kind} has no END {kind}")]
    Unclosed {
        /// The line of the `BEGIN`.
        line: usize,
        /// Its kind.
        kind: Kind,
    },
    /// A `STUB:` line outside any region.
    #[error("line {line}: STUB: outside a region")]
    StrayStub {
        /// Its line.
        line: usize,
    },
}

/// A file with its regions replaced by their stubs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stripped {
    /// The handout's text.
    pub text: String,
    /// The lines taken out of `SOLUTION` regions (stub markers excepted).
    pub solution: Vec<String>,
    /// How many regions of each kind: (solution, hidden and instructor).
    pub regions: (usize, usize),
}

/// Replaces every region of `text` by its stub, as the handout has it.
///
/// ```
/// use grader::author::handout::regions::strip;
///
/// let reference = "fn run() {\n    // BEGIN SOLUTION\n    // STUB: todo!(\"print\")\n    println!(\"hi\");\n    // END SOLUTION\n}\n";
/// let handout = strip(reference)?;
/// assert_eq!(handout.text, "fn run() {\n    todo!(\"print\")\n}\n");
/// assert_eq!(handout.solution, ["    println!(\"hi\");"]);
/// # Ok::<(), grader::author::handout::regions::RegionError>(())
/// ```
pub fn strip(text: &str) -> Result<Stripped, RegionError> {
    strip_for(text, Audience::Students)
}

/// `text` as `audience`'s copy has it: every region replaced by its stub,
/// but the `HIDDEN` ones in the grading kit, which keep their lines (not
/// their markers).
pub fn strip_for(text: &str, audience: Audience) -> Result<Stripped, RegionError> {
    let keeps = |kind: Kind| kind == Kind::Hidden && audience == Audience::Grading;
    let mut out = Stripped::default();
    let mut open: Option<(Kind, usize)> = None;
    // Whether the region just closed left nothing, after a blank line: a
    // blank line after it would then make two.
    let mut gap = false;
    for (number, line) in (1..).zip(text.split_inclusive('\n')) {
        let bare = line.trim_end_matches(['\n', '\r']);
        let closing_gap = std::mem::take(&mut gap);
        if closing_gap && open.is_none() && bare.trim().is_empty() {
            continue;
        }
        match (marker(bare), open) {
            (Marker::Begin(kind), None) => {
                open = Some((kind, number));
                match kind {
                    Kind::Solution => out.regions.0 += 1,
                    Kind::Hidden | Kind::Instructor => out.regions.1 += 1,
                }
            }
            (Marker::Begin(kind), Some((_, at))) => {
                return Err(RegionError::Nested {
                    line: number,
                    kind,
                    open: at,
                });
            }
            (Marker::End(kind), Some((open_kind, _))) if kind == open_kind => {
                open = None;
                gap = out.text.is_empty() || out.text.ends_with("\n\n");
            }
            (Marker::End(kind), _) => return Err(RegionError::Unopened { line: number, kind }),
            (Marker::Stub(..), Some((kind, _))) if keeps(kind) => {}
            (Marker::Stub(indent, stub), Some(_)) => {
                gap = false;
                out.text.push_str(indent);
                out.text.push_str(stub);
                out.text.push('\n');
            }
            (Marker::Stub(..), None) => return Err(RegionError::StrayStub { line: number }),
            (Marker::None, Some((Kind::Solution, _))) => out.solution.push(bare.to_owned()),
            (Marker::None, Some((kind, _))) if keeps(kind) => out.text.push_str(line),
            (Marker::None, Some((Kind::Hidden | Kind::Instructor, _))) => {}
            (Marker::None, None) => out.text.push_str(line),
        }
    }
    match open {
        Some((kind, line)) => Err(RegionError::Unclosed { line, kind }),
        None => Ok(out),
    }
}

/// Whether `line`, taken out of a solution, says enough that finding it in
/// a handout would give the solution away: not a brace, a blank or a
/// comment, and not a line every program has.
pub fn telling(line: &str) -> bool {
    let line = line.trim();
    let substance = line.chars().filter(|c| c.is_alphanumeric()).count();
    substance >= 6 && !line.starts_with("//") && !matches!(line, "Ok(())" | "Ok(())," | "}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_behind_any_comment_leader() {
        let text = "a\n# BEGIN INSTRUCTOR\nb\n# END INSTRUCTOR\n<!-- BEGIN INSTRUCTOR -->\nc\n<!-- STUB: d -->\n<!-- END INSTRUCTOR -->\ne\n";
        let stripped = strip(text).expect("balanced");
        assert_eq!(stripped.text, "a\nd\ne\n");
        assert_eq!(stripped.regions, (0, 2));
    }

    #[test]
    fn unbalanced_markers_are_named_with_their_line() {
        assert_eq!(
            strip("// BEGIN SOLUTION\nx\n"),
            Err(RegionError::Unclosed {
                line: 1,
                kind: Kind::Solution
            })
        );
        assert_eq!(
            strip("// END SOLUTION\n"),
            Err(RegionError::Unopened {
                line: 1,
                kind: Kind::Solution
            })
        );
        assert_eq!(
            strip("// BEGIN SOLUTION\n// BEGIN INSTRUCTOR\n"),
            Err(RegionError::Nested {
                line: 2,
                kind: Kind::Instructor,
                open: 1
            })
        );
        assert_eq!(
            strip("// BEGIN SOLUTION\n// END INSTRUCTOR\n"),
            Err(RegionError::Unopened {
                line: 2,
                kind: Kind::Instructor
            })
        );
        assert_eq!(
            strip("// STUB: x\n"),
            Err(RegionError::StrayStub { line: 1 })
        );
    }

    #[test]
    fn the_kit_keeps_hidden_regions_and_nothing_else() {
        let text = "a\n// BEGIN HIDDEN\nh\n// STUB: s\n// END HIDDEN\n// BEGIN SOLUTION\n// STUB: t\nx\n// END SOLUTION\n// BEGIN INSTRUCTOR\ni\n// END INSTRUCTOR\nb\n";
        assert_eq!(
            strip_for(text, Audience::Grading).expect("balanced").text,
            "a\nh\nt\nb\n"
        );
        assert_eq!(strip(text).expect("balanced").text, "a\ns\nt\nb\n");
    }

    #[test]
    fn trivial_lines_tell_nothing() {
        assert!(!telling("    }"));
        assert!(!telling("    Ok(())"));
        assert!(!telling("    // a comment about it"));
        assert!(telling("        process.start()?;"));
    }
}
