//! [`Fact::Received`](crate::exercises::Fact::Received), against the
//! messages the tracer recorded on the run's socket pairs (see
//! `trace/messages.rs`).
//!
//! What the kernel delivered is rebuilt first: on each direction of each
//! pair, the `k`-th record received on one end is the `k`-th sent on the
//! other (a `SOCK_SEQPACKET` socket keeps records whole and in order). A
//! direction whose account is incomplete, or whose bytes received do not
//! begin the bytes sent at the same place, gives nothing. Then every line
//! of the receiving role that shows a value must be backed by a record
//! that:
//!
//! - the process that wrote the line received, before it wrote it (the
//!   receive returned before the line's first write: for one task, its
//!   own order);
//! - a process of the sending role sent, and not the receiver itself (a
//!   process that sends to itself over a pair, or a thread, shows no
//!   crossing);
//! - holds the value: the message a whole record carries is the value's
//!   encoding, after its type tag (`common::layout::message_value`), or
//!   the value's text as raw bytes;
//!
//! and each record backs one line only. A line the run's order puts after
//! a line of another process must show a record sent once that line was
//! written: the message is what lets the line be printed, so it must not
//! leave before the line it follows (the receiver's own lines come first
//! by its own order). So a child that prints what it expects before it
//! receives it, a parent that prints replies it never received, a parent
//! that sends every ping at once, a child that replies before it prints,
//! threads, and a program with no pipe at all fail, every time, whatever
//! luck (or another channel) did to the order of the lines.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use nix::unistd::Pid;

use crate::exercises::{MAIN, Run};
use crate::expect::{Pattern, value_in};
use crate::observe::{Events, Message};

use super::lines::{Line, lines};
use super::shown::{encodes, listed};

/// A record that crossed from one end of a pair to the other.
struct Crossing<'a> {
    sender: Pid,
    receiver: Pid,
    /// The send, as the sender's call returned.
    sent: &'a Message,
    /// The bytes received.
    received: &'a Message,
}

/// Every record the kernel delivered on the run's pairs, in directions
/// whose account is whole and consistent.
fn crossings(events: &Events) -> Vec<Crossing<'_>> {
    let mut peers: HashMap<u64, u64> = HashMap::new();
    for &(a, b) in &events.pairs {
        peers.insert(a, b);
        peers.insert(b, a);
    }
    // Each end's sends and receives, in the order they returned.
    let mut sends: BTreeMap<u64, Vec<&Message>> = BTreeMap::new();
    let mut receives: BTreeMap<u64, Vec<&Message>> = BTreeMap::new();
    for message in &events.messages {
        let side = if message.sent {
            &mut sends
        } else {
            &mut receives
        };
        side.entry(message.end).or_default().push(message);
    }
    let mut crossings = Vec::new();
    for (&end, received) in &receives {
        let Some(&from) = peers.get(&end) else {
            continue;
        };
        if events.messages_lost.contains(&(from, true))
            || events.messages_lost.contains(&(end, false))
        {
            continue;
        }
        let sent = sends.get(&from).map_or(&[][..], Vec::as_slice);
        let whole = received.len() <= sent.len()
            && received
                .iter()
                .zip(sent)
                .all(|(r, s)| s.bytes.starts_with(&r.bytes));
        if !whole {
            continue;
        }
        crossings.extend(received.iter().zip(sent).map(|(r, s)| Crossing {
            sender: s.pid,
            receiver: r.pid,
            sent: s,
            received: r,
        }));
    }
    crossings
}

/// Whether `record`, received whole, carries a message that is `value`.
fn holds(record: &[u8], value: &str) -> bool {
    let Some((true, true, message)) = common::layout::record(record) else {
        return false;
    };
    message == value.as_bytes()
        || common::layout::message_value(message).is_some_and(|bytes| encodes(value, bytes))
}

/// A line of another process than `line`'s that the run's order puts
/// before `line`, and that had not been written when the message `line`
/// shows was sent (`sent`). The message is what lets `line` be printed, so
/// then nothing but luck put the two lines in order: a process that sends
/// every message at once, or replies before it prints what it received.
/// (A line of `line`'s own process comes before it by that process's own
/// order, wherever the message was.)
fn sent_too_early<'l>(
    run: &Run,
    lines: &'l [Line],
    line: &Line,
    sent: &Message,
) -> Option<&'l Line> {
    let before: Vec<&String> = run
        .order
        .iter()
        .filter(|order| order.then.contains(&line.text))
        .flat_map(|order| &order.first)
        .collect();
    lines.iter().find(|earlier| {
        before.contains(&&earlier.text)
            && earlier.owner() != line.owner()
            && earlier.last >= sent.writes_before
    })
}

/// The processes of role `role`: the main process for [`MAIN`]; else those
/// that wrote one of its lines, or, for a role that prints nothing, every
/// process but the main one.
pub(super) fn players(
    run: &Run,
    events: &Events,
    main: Pid,
    lines: &[Line],
    role: &str,
) -> BTreeSet<Pid> {
    if role == MAIN {
        return BTreeSet::from([main]);
    }
    let expected = run.lines_of(role);
    if expected.is_empty() {
        return events
            .processes
            .iter()
            .map(|p| p.pid)
            .filter(|&pid| pid != main)
            .collect();
    }
    lines
        .iter()
        .filter(|line| expected.contains(&&line.text))
        .filter_map(Line::owner)
        .filter(|&pid| pid != main)
        .collect()
}

/// What is wrong with role `to`'s lines matching `pattern` showing
/// messages received from role `from`, one line each; and how many were
/// backed, in words.
pub(super) fn received(
    run: &Run,
    events: &Events,
    main: Pid,
    from: &str,
    to: &str,
    pattern: Pattern,
) -> (Vec<String>, String) {
    let expected = run.lines_showing(to, pattern);
    let lines = lines(events);
    let senders = players(run, events, main, &lines, from);
    let crossings = crossings(events);
    let mut used = BTreeSet::new();
    let mut backed = 0;
    // Lines backed by a message sent before the line they must follow.
    let mut early = Vec::new();
    // The lines no record backs, by the process that wrote them.
    let mut unbacked: BTreeMap<Option<Pid>, Vec<String>> = BTreeMap::new();
    for line in &lines {
        if !expected.contains(&&line.text) {
            continue;
        }
        let Some(value) = value_in(pattern, &line.text) else {
            continue;
        };
        let writer = line.owner();
        let backing = crossings.iter().enumerate().position(|(i, c)| {
            !used.contains(&i)
                && Some(c.receiver) == writer
                && c.sender != c.receiver
                && senders.contains(&c.sender)
                && c.received.writes_before <= line.first
                && holds(&c.received.bytes, value)
        });
        match backing {
            Some(i) => {
                used.insert(i);
                backed += 1;
                if let Some(earlier) = sent_too_early(run, &lines, line, crossings[i].sent) {
                    early.push((line.text.clone(), earlier.text.clone()));
                }
            }
            None => unbacked.entry(writer).or_default().push(line.text.clone()),
        }
    }
    let shown = format!(
        "{backed} of the {} `{pattern}` lines expected showed a message {} had received from {} \
         over a pipe before printing it",
        expected.len(),
        who(to),
        who(from)
    );
    let mut problems: Vec<String> = unbacked
        .into_values()
        .map(|lines| {
            format!(
                "{} that the process printing them had not received by then over a pipe from \
                 {} ({} must send each message through the pipe, and {} print what it \
                 receives)",
                listed(&lines),
                who(from),
                who(from),
                who(to)
            )
        })
        .collect();
    if problems.is_empty() && backed < expected.len() {
        problems.push(format!(
            "{} of {}'s `{pattern}` lines were not printed, so nothing shows their messages \
             crossed",
            expected.len() - backed,
            who(to)
        ));
    }
    if let Some((line, earlier)) = early.first() {
        let more = match early.len() {
            1 => String::new(),
            n => format!(" (and {} more such lines)", n - 1),
        };
        problems.push(format!(
            "`{line}` shows a message {} sent before `{earlier}` was printed{more}: the \
             messages must set the order of the lines, not luck or another channel ({} must \
             not send it until `{earlier}` is printed)",
            who(from),
            who(from)
        ));
    }
    (problems, shown)
}

/// A role as the report names it.
pub(super) fn who(role: &str) -> String {
    if role == MAIN {
        "the main process".to_owned()
    } else {
        format!("the {role}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Written;

    const MAIN_PID: Pid = Pid::from_raw(10);
    const CHILD: Pid = Pid::from_raw(11);
    /// The ends of the one pair: the main process's, the child's.
    const OURS: u64 = 100;
    const THEIRS: u64 = 101;

    /// `text` as a connection's whole record: flags, length, tag, value.
    fn record(text: &str) -> Vec<u8> {
        let mut message = 7u64.to_le_bytes().to_vec();
        message.extend(postcard::to_allocvec(text).expect("encoded"));
        let mut record = vec![3];
        record.extend((message.len() as u64).to_le_bytes());
        record.extend(message);
        record
    }

    fn message(pid: Pid, end: u64, sent: bool, text: &str, writes_before: usize) -> Message {
        Message {
            pid,
            end,
            sent,
            bytes: record(text),
            writes_before,
        }
    }

    fn line(pid: Pid, text: &str) -> Written {
        Written {
            pid,
            bytes: format!("{text}\n").into_bytes(),
            unjoined: Vec::new(),
            taken: Vec::new(),
        }
    }

    /// The main process sends `ping 0`; the child receives it and prints
    /// it, as `child` says; the main process's own line is none of this.
    fn events(child: Vec<Message>, child_line_at: usize) -> Events {
        let mut messages = vec![message(MAIN_PID, OURS, true, "ping 0", 0)];
        messages.extend(child);
        let mut writes = vec![line(MAIN_PID, "start")];
        writes.insert(child_line_at, line(CHILD, "Child received: ping 0"));
        Events {
            pairs: vec![(OURS, THEIRS)],
            messages,
            writes,
            ..Events::default()
        }
    }

    fn run() -> Run {
        Run {
            roles: vec![crate::exercises::Role::new(
                "child",
                vec![vec!["Child received: ping 0".to_owned()]],
            )],
            ..Run::new(&[], &["start"])
        }
    }

    fn problems(events: &Events) -> Vec<String> {
        received_problems(&run(), events)
    }

    #[test]
    fn a_message_received_before_its_line_backs_it() {
        let received = message(CHILD, THEIRS, false, "ping 0", 1);
        assert_eq!(problems(&events(vec![received], 1)), Vec::<String>::new());
    }

    #[test]
    fn a_line_written_before_the_receive_returned_is_not_backed() {
        let received = message(CHILD, THEIRS, false, "ping 0", 2);
        assert_eq!(problems(&events(vec![received], 1)).len(), 1);
    }

    #[test]
    fn a_message_from_the_receiver_itself_backs_nothing() {
        // The child sends on the main process's end, and receives its own
        // record (the main process's send is the second on that end).
        let mut events = events(Vec::new(), 1);
        events.messages = vec![
            message(CHILD, OURS, true, "ping 0", 0),
            message(CHILD, THEIRS, false, "ping 0", 0),
            message(MAIN_PID, OURS, true, "ping 0", 0),
        ];
        assert_eq!(problems(&events).len(), 1);
    }

    #[test]
    fn a_message_sent_before_the_line_it_must_follow_is_flagged() {
        // The child's line must follow the main process's `start`, written
        // first (write 0); the ping was sent before it (no write by then).
        let ordered = Run {
            order: crate::expect::Order::chain(&[
                "start".to_owned(),
                "Child received: ping 0".to_owned(),
            ]),
            ..run()
        };
        let received = message(CHILD, THEIRS, false, "ping 0", 1);
        let events = events(vec![received], 1);
        let check = |events: &Events| {
            received_problems(&ordered, events)
                .iter()
                .any(|p| p.contains("sent before `start` was printed"))
        };
        assert!(check(&events));
        // Sent after `start` was written: the message set the order.
        let mut events = events;
        events.messages[0].writes_before = 1;
        assert!(!check(&events));
    }

    fn received_problems(run: &Run, events: &Events) -> Vec<String> {
        received(run, events, MAIN_PID, MAIN, "child", "Child received: {}").0
    }

    #[test]
    fn a_direction_whose_bytes_differ_from_what_was_sent_is_not_used() {
        let mut received = message(CHILD, THEIRS, false, "ping 0", 1);
        received.bytes = record("ping 9");
        let mut events = events(vec![received], 1);
        assert_eq!(problems(&events).len(), 1);
        // Nor one whose receives were not all recorded.
        events.messages[1].bytes = record("ping 0");
        events.messages_lost.insert((THEIRS, false));
        assert_eq!(problems(&events).len(), 1);
    }
}
