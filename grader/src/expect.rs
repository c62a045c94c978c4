//! What one run of an exercise must do, as the registry states it: the
//! child processes by role and the lines each prints, the main process's
//! lines, the order lines of different processes must come in, and the
//! facts about data that crossed between the processes.
//!
//! A run names its processes by role (`producer`, `consumer`, `worker`):
//! each role is played by as many child processes as it lists, each with
//! its own lines, in its own order (a process that prints nothing has
//! none). The main process prints [`Run::main`] while its children run and
//! [`Run::last`] once they have ended. [`Run::order`] ties lines of
//! different processes together (a barrier's second phase after every
//! first phase; a reply after the message it answers). [`Run::facts`] say
//! what crossed between roles and how: an item sent by one role and taken
//! by another, a message sent by one over a pipe and received by another,
//! a shared value updated under its lock. Each is checked against the kernel's record of the run,
//! never against what the program says of itself.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use common::StartMethod;
use serde_json::Value;

use crate::exercises::CheckedIn;
use crate::trace::Events;

/// The name of the main process in [`Fact`]s: the process the grader
/// starts.
pub const MAIN: &str = "main";

/// One run of an exercise binary and what it must do.
#[derive(Debug, Clone)]
pub struct Run {
    /// Command-line arguments.
    pub args: Vec<String>,
    /// The child processes of the main process, by role, with what each
    /// prints.
    pub roles: Vec<Role>,
    /// Lines the main process prints while its children run, in this
    /// order; where they fall among the children's lines only
    /// [`Run::order`] says.
    pub main: Vec<String>,
    /// Lines the main process prints last, in this order, after every
    /// child has ended (and been joined, with [`Run::parent_waits`]).
    pub last: Vec<String>,
    /// Lines of different processes that must come in an order: every line
    /// of one set before any line of the other.
    pub order: Vec<Order>,
    /// What crossed between the processes, and how: each a fact the kernel
    /// shows (the data check).
    pub facts: Vec<Fact>,
    /// Checks of values parsed out of the output, each with its own
    /// message (part of the output check).
    pub parsed: Vec<Parsed>,
    /// Whether all the children must be alive at the same time.
    pub concurrent: bool,
    /// Whether the children are a pool's workers, which the pool may
    /// replace as they end (`maxtasksperchild`, or a worker that died):
    /// more of them may then be created, so long as no more than
    /// [`Run::children`] were alive at once.
    pub replaceable: bool,
    /// Whether the main process must wait for its children (join) before
    /// printing `last`. The grader then holds the children until the main
    /// process is blocked waiting, so printing early is always caught.
    pub parent_waits: bool,
    /// How long the run may take before its process group is killed.
    pub timeout: Duration,
    /// How the program's processes are started (it is given the method in
    /// `COMMON_START_METHOD`).
    pub start_method: StartMethod,
    /// For programs that print JSON (`--json`): the facts their output must
    /// state. Returns one line per fact that is wrong; the lines above are
    /// then not used.
    pub json: Option<JsonFacts>,
    /// Whether the run is hidden from students: the handout's grader does
    /// not have it (it says how many checks it withholds), the instructor's
    /// grading runs it, and Gradescope shows it after grades are published.
    pub hidden: bool,
}

/// Checks the JSON a run printed, next to what the kernel saw of it (the
/// processes that checked in, and the tracer's record where the run was
/// traced); returns one line per wrong fact.
pub type JsonFacts = fn(&Value, &CheckedIn, Option<&Events>) -> Vec<String>;

/// A role some child processes play, and what each of them prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Its name, as facts and reports use it (`producer`, `worker`).
    pub name: &'static str,
    /// One entry per process playing it: the lines that process prints, in
    /// this order (none for a process that prints nothing).
    pub processes: Vec<Vec<String>>,
}

impl Role {
    /// A role played by one process per entry of `processes`, each
    /// printing its lines in order.
    pub fn new(name: &'static str, processes: Vec<Vec<String>>) -> Role {
        Role { name, processes }
    }

    /// A role played by `count` processes that print nothing.
    pub fn silent(name: &'static str, count: usize) -> Role {
        Role::new(name, vec![Vec::new(); count])
    }

    /// A role played by one process per line, each printing its line.
    pub fn line_each(name: &'static str, lines: impl IntoIterator<Item = String>) -> Role {
        Role::new(name, lines.into_iter().map(|line| vec![line]).collect())
    }
}

/// Lines of different processes in an order: every line of `first` comes
/// before any line of `then`, in stdout as the kernel took the writes (one
/// at a time, in order; see `trace/writes.rs`).
///
/// This is checked on the order that came, not provoked: an order the
/// program does not enforce (no barrier, no reply awaited) may come right
/// by luck. Use it for orders a correct program makes certain, such as a
/// reply printed after the message it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Lines that come first.
    pub first: Vec<String>,
    /// Lines that come after all of `first`.
    pub then: Vec<String>,
}

impl Order {
    /// Line `first` before line `then`.
    pub fn pair(first: impl Into<String>, then: impl Into<String>) -> Order {
        Order {
            first: vec![first.into()],
            then: vec![then.into()],
        }
    }

    /// Lines written in this sequence, one after the other, by whichever
    /// processes print them (a conversation).
    pub fn chain(lines: &[String]) -> Vec<Order> {
        lines
            .windows(2)
            .map(|pair| Order::pair(pair[0].clone(), pair[1].clone()))
            .collect()
    }
}

/// A line with one `{}` where a value goes, such as `Consumed {}`.
pub type Pattern = &'static str;

/// What the value in `line`, a line matching `pattern`, is (`None` when it
/// does not match).
pub fn value_in(pattern: Pattern, line: &str) -> Option<&str> {
    let (before, after) = pattern.split_once("{}")?;
    line.strip_prefix(before)?.strip_suffix(after)
}

/// A fact about data that crossed between the processes of a run: the data
/// check. Each rests on what the kernel shows (see `trace/queues.rs` and
/// `judge/data.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    /// Every line of role `to` matching `line` shows a value that `to`'s
    /// process had taken, before writing the line, out of a queue
    /// (`common::Queue`) another process held too: a value of its own per
    /// line. `from` and `to` are role names, or [`MAIN`]; that `from` put
    /// the values in is not asked ([`Fact::Put`] asks it).
    Crossed {
        /// The role that sent the items.
        from: &'static str,
        /// The role that took them and printed their values.
        to: &'static str,
        /// The lines of `to` that show a value taken.
        line: Pattern,
    },
    /// Every line of role `to` matching `line` shows a value that `to`'s
    /// process had received, before writing the line, over a socket pair
    /// the run made (a `common::pipe`), in a message that a process of
    /// role `from` had sent on the other end: a message of its own per
    /// line. `from` and `to` are role names, or [`MAIN`]; the processes of
    /// a role are those that wrote its lines (of a role that prints
    /// nothing: every process but the main one), and the sender is never
    /// the receiver. A line that [`Run::order`] puts after a line of
    /// another process shows a message sent after that line was written
    /// (see `trace/messages.rs` and `judge/pipes.rs`).
    Received {
        /// The role that sent the messages.
        from: &'static str,
        /// The role that received them and printed what they held.
        to: &'static str,
        /// The lines of `to` that show a message received.
        line: Pattern,
    },
    /// As [`Fact::Crossed`], and each value was put into the queue by a
    /// process of role `from` that is neither the main process nor the one
    /// that printed it: the processor saw that process move the queue
    /// ring's count of bytes published past the value (see
    /// `trace/puts.rs`). A process of a role that prints nothing is any
    /// child.
    Put {
        /// The role that put the items in.
        from: &'static str,
        /// The role that took them and printed their values.
        to: &'static str,
        /// The lines of `to` that show a value taken.
        line: Pattern,
    },
    /// Every value of the main process's line matching `line`, a list
    /// (`[1, 4, 9]`), is a result that a process of role `from` sent it:
    /// the answers of a `common::Pool` that the main process read out of
    /// pipes only processes of `from` wrote hold every value listed, as
    /// often as it is listed (see `trace/messages.rs` and
    /// `judge/returned.rs`). So values the main process worked out itself
    /// beside a pool that returned something else do not pass.
    Returned {
        /// The role whose processes computed the values (a pool's workers).
        from: &'static str,
        /// The main process's line that lists them.
        line: Pattern,
    },
    /// The children updated a `common::Value` they share at least
    /// `updates` times in all (each update a write leaving it one more
    /// than it was), and no update was unprotected: when the
    /// grader held a child between its read and its write of the value, no
    /// other process wrote it (a lock held across both keeps them out;
    /// nothing else does). `line` is the main process's line with the
    /// number (its value is checked by the output check).
    Counted {
        /// The main process's line with the number.
        line: Pattern,
        /// How many times the children update the value, at least.
        updates: usize,
    },
    /// No process wrote a line matching `after` while another had not yet
    /// written its line matching `before`: the grader holds the first
    /// child about to write to stdout (its `before` line) until every
    /// other process of the run is blocked or has ended, and no `after`
    /// line may be written meanwhile (a barrier between the two lines
    /// keeps everyone waiting for the held one; nothing else does). See
    /// `trace/holds.rs`.
    Waited {
        /// The line each process writes before it waits.
        before: Pattern,
        /// The line each process writes once all have written `before`.
        after: Pattern,
    },
}

/// A check of the values that lines matching `line` show, with a message
/// of its own: `check` returns what is wrong with one value.
#[derive(Clone)]
pub struct Parsed {
    /// The lines whose value is checked.
    pub line: Pattern,
    /// What is wrong with a value, if anything.
    pub check: Arc<ValueCheck>,
}

/// What is wrong with a value parsed out of a line, if anything.
pub type ValueCheck = dyn Fn(&str) -> Option<String> + Send + Sync;

impl Parsed {
    /// Lines matching `line` must show a value that `check` accepts.
    pub fn new(
        line: Pattern,
        check: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Parsed {
        Parsed {
            line,
            check: Arc::new(check),
        }
    }
}

impl fmt::Debug for Parsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parsed").field("line", &self.line).finish()
    }
}

impl Run {
    /// A run with `args` whose main process prints `last` and nothing else.
    pub fn new(args: &[&str], last: &[&str]) -> Run {
        Run {
            args: args.iter().map(|&a| a.to_owned()).collect(),
            roles: Vec::new(),
            main: Vec::new(),
            last: last.iter().map(|&l| l.to_owned()).collect(),
            order: Vec::new(),
            facts: Vec::new(),
            parsed: Vec::new(),
            concurrent: false,
            replaceable: false,
            parent_waits: false,
            timeout: Duration::from_secs(20),
            start_method: StartMethod::Fork,
            json: None,
            hidden: false,
        }
    }

    /// A run with `args` that prints JSON stating `facts`, and creates
    /// `children` processes.
    pub fn json(args: &[&str], children: usize, facts: JsonFacts) -> Run {
        Run {
            roles: vec![Role::silent("child", children)],
            json: Some(facts),
            ..Run::new(args, &[])
        }
    }

    /// How many child processes of the main process the run needs: every
    /// process of every role.
    pub fn children(&self) -> usize {
        self.roles.iter().map(|r| r.processes.len()).sum()
    }

    /// Whether the run has facts about data, and so a data check.
    pub fn has_data_check(&self) -> bool {
        !self.facts.is_empty()
    }

    /// How many checks grading this run makes.
    pub fn check_count(&self) -> usize {
        // exit status, output and nothing left behind, plus processes,
        // concurrency and data where asked.
        3 + usize::from(self.children() > 0)
            + usize::from(self.concurrent)
            + usize::from(self.has_data_check())
    }

    /// The lines every child process prints, each process's in order, with
    /// its role.
    pub fn child_parts(&self) -> impl Iterator<Item = (&'static str, &[String])> {
        self.roles.iter().flat_map(|role| {
            role.processes
                .iter()
                .map(move |lines| (role.name, lines.as_slice()))
        })
    }

    /// Every line the run expects, children's first, then the main
    /// process's (while running, then last).
    pub fn all_lines(&self) -> impl Iterator<Item = &String> {
        self.roles
            .iter()
            .flat_map(|role| role.processes.iter().flatten())
            .chain(&self.main)
            .chain(&self.last)
    }

    /// The lines of role `name` ([`MAIN`]: the main process's).
    pub fn lines_of(&self, name: &str) -> Vec<&String> {
        if name == MAIN {
            return self.main.iter().chain(&self.last).collect();
        }
        self.roles
            .iter()
            .filter(|role| role.name == name)
            .flat_map(|role| role.processes.iter().flatten())
            .collect()
    }

    /// The lines of role `name` that match `pattern`, each showing a value.
    pub fn lines_showing(&self, name: &str, pattern: Pattern) -> Vec<&String> {
        self.lines_of(name)
            .into_iter()
            .filter(|line| value_in(pattern, line).is_some())
            .collect()
    }

    /// Whether the tracer must watch the shared values' reads and writes.
    pub fn watches_values(&self) -> bool {
        self.facts
            .iter()
            .any(|fact| matches!(fact, Fact::Counted { .. }))
    }

    /// Whether the tracer must hold the first child's first line (and see
    /// who sleeps meanwhile).
    pub fn holds_first_line(&self) -> bool {
        self.facts
            .iter()
            .any(|fact| matches!(fact, Fact::Waited { .. }))
    }

    /// Whether the tracer must record what the processes take out of
    /// queues.
    pub fn records_crossings(&self) -> bool {
        self.facts
            .iter()
            .any(|fact| matches!(fact, Fact::Crossed { .. } | Fact::Put { .. }))
    }

    /// Whether the tracer must watch who puts values into queues.
    pub fn watches_puts(&self) -> bool {
        self.facts
            .iter()
            .any(|fact| matches!(fact, Fact::Put { .. }))
    }

    /// Whether the tracer must record what crosses the socket pairs the
    /// run makes (`common::pipe`s).
    pub fn records_messages(&self) -> bool {
        self.facts
            .iter()
            .any(|fact| matches!(fact, Fact::Received { .. } | Fact::Returned { .. }))
    }

    /// Whether the tracer must also record what crosses the run's pipes
    /// (`pipe2`), as a pool's answers do.
    pub fn follows_pipes(&self) -> bool {
        self.facts
            .iter()
            .any(|fact| matches!(fact, Fact::Returned { .. }))
    }

    /// What is inconsistent in this run's description, one line each: a
    /// line printed by two processes, an order or a fact naming a line or a
    /// role the run does not have, a pattern without its `{}`, a JSON run
    /// with lines.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let lines: Vec<&String> = self.all_lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if lines[..i].contains(line) {
                problems.push(format!(
                    "`{line}` is expected twice; each line must be unique"
                ));
            }
        }
        for order in &self.order {
            for line in order.first.iter().chain(&order.then) {
                if !lines.contains(&line) {
                    problems.push(format!("the order names `{line}`, which no process prints"));
                }
            }
        }
        let role_known = |name: &str| name == MAIN || self.roles.iter().any(|r| r.name == name);
        for fact in &self.facts {
            let (roles, patterns): (Vec<&str>, Vec<Pattern>) = match *fact {
                Fact::Crossed { from, to, line }
                | Fact::Put { from, to, line }
                | Fact::Received { from, to, line } => (vec![from, to], vec![line]),
                Fact::Returned { from, line } => (vec![from], vec![line]),
                Fact::Counted { line, .. } => (vec![MAIN], vec![line]),
                Fact::Waited { before, after } => (Vec::new(), vec![before, after]),
            };
            for role in roles {
                if !role_known(role) {
                    problems.push(format!(
                        "a fact names the role `{role}`, which the run lacks"
                    ));
                }
            }
            for pattern in patterns {
                if pattern.matches("{}").count() != 1 {
                    problems.push(format!("the pattern `{pattern}` must hold `{{}}` once"));
                }
            }
        }
        for parsed in &self.parsed {
            if parsed.line.matches("{}").count() != 1 {
                problems.push(format!(
                    "the pattern `{}` must hold `{{}}` once",
                    parsed.line
                ));
            }
        }
        // With `parent_waits` the children are held until the main process
        // blocks in a join: a line it prints before joining that must show
        // a child's value would never come, and the run would hang.
        if self.parent_waits {
            for fact in &self.facts {
                if let Fact::Crossed { to: MAIN, line, .. }
                | Fact::Put { to: MAIN, line, .. }
                | Fact::Received { to: MAIN, line, .. } = *fact
                    && self
                        .main
                        .iter()
                        .any(|printed| value_in(line, printed).is_some())
                {
                    problems.push(format!(
                        "`{line}` shows a child's value before the main process joins, but \
                         `parent_waits` holds the children until it joins: set it false"
                    ));
                }
            }
        }
        if self.json.is_some() && !lines.is_empty() {
            problems.push("a JSON run expects no lines".to_owned());
        }
        problems
    }

    /// The command line as a student would type it.
    pub fn command_line(&self, package: &str) -> String {
        let method = match self.start_method {
            StartMethod::Fork => None,
            method => Some(format!("{}={method}", common::START_METHOD_ENV)),
        };
        method
            .into_iter()
            .chain(std::iter::once(package.to_owned()))
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_what_stands_for_the_braces() {
        assert_eq!(value_in("Consumed {}", "Consumed 7"), Some("7"));
        assert_eq!(value_in("[{}]", "[1, 2]"), Some("1, 2"));
        assert_eq!(value_in("Consumed {}", "Produced 7"), None);
    }

    #[test]
    fn a_chain_orders_each_line_before_the_next() {
        let lines: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        assert_eq!(
            Order::chain(&lines),
            [Order::pair("a", "b"), Order::pair("b", "c")]
        );
    }

    #[test]
    fn a_run_that_contradicts_itself_is_told() {
        let run = Run {
            roles: vec![Role::line_each("worker", ["x".to_owned(), "x".to_owned()])],
            order: vec![Order::pair("x", "y")],
            facts: vec![Fact::Crossed {
                from: "producer",
                to: "worker",
                line: "x",
            }],
            ..Run::new(&[], &["done"])
        };
        let problems = run.problems().join("\n");
        assert!(problems.contains("`x` is expected twice"), "{problems}");
        assert!(problems.contains("names `y`"), "{problems}");
        assert!(problems.contains("role `producer`"), "{problems}");
        assert!(problems.contains("`x` must hold `{}` once"), "{problems}");
        assert!(Run::new(&[], &["done"]).problems().is_empty());
    }

    /// A main process that waits for a child's value before it joins, with
    /// the children held until it joins: the run could only time out.
    #[test]
    fn a_value_awaited_before_a_join_the_children_wait_for_is_told() {
        let run = |parent_waits| Run {
            roles: vec![Role::silent("child", 1)],
            main: vec!["Parent got 70".to_owned()],
            facts: vec![Fact::Put {
                from: "child",
                to: MAIN,
                line: "Parent got {}",
            }],
            parent_waits,
            ..Run::new(&[], &["Done."])
        };
        let problems = run(true).problems().join("\n");
        assert!(
            problems.contains("`parent_waits` holds the children"),
            "{problems}"
        );
        assert!(run(false).problems().is_empty());
    }
}
