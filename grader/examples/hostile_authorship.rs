//! A hostile Q6 whose four children are real, checked in and idle, while
//! the main process writes the children's lines itself by a route the
//! argument names, hoping the grader will not see who wrote them:
//!
//! - `high-fd`: `write` to descriptor 1 with the upper 32 bits set (the
//!   kernel uses the low 32);
//! - `dup`: `write` to a copy of descriptor 1 at another number;
//! - `sendmsg`: `sendmsg` on descriptor 1;
//! - `aio`: an AIO write (`io_setup`, `io_submit`) on descriptor 1;
//! - `seccomp`: a filter of its own whose answers would outrank the
//!   grader's (a user notification, a trace), through `seccomp` and
//!   through `prctl`;
//! - `stderr-budget`: 1 MiB and more of stderr first, to spend a copy
//!   budget, then plain `println!`;
//! - `split-line`: the main process writes each line's text, and a child
//!   writes only its newline;
//! - `read-back`: the children print their lines, and the main process
//!   reads them back out of its own stdout (`/proc/self/fd/1` opened for
//!   reading), then prints its own copies.
//!
//! Each route the kernel refuses is said on stderr (the fixture then
//! prints the lines from the main process with `println!`), so the test
//! can show what was refused.

#![expect(
    unsafe_code,
    reason = "a submission may do what it likes; this one makes raw system calls"
)]

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};

use common::Process;

fn lines() -> Vec<String> {
    (1..=4)
        .map(|n| format!("Process {n}: Printing {n}\n"))
        .collect()
}

/// What a raw system call answered.
fn answer(done: libc::c_long) -> std::io::Result<libc::c_long> {
    if done < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(done)
    }
}

/// Four real children that check in and do nothing; joined.
fn idle_children() -> common::Result<()> {
    let mut processes: Vec<Process> = (0..4).map(|_| Process::new(|| {})).collect();
    for process in &mut processes {
        process.start()?;
    }
    for process in &processes {
        process.join()?;
    }
    Ok(())
}

/// The lines through `println!`, after saying why on stderr.
fn fall_back(why: &str) {
    eprintln!("{why}");
    for line in lines() {
        print!("{line}");
    }
}

fn high_fd() {
    for line in lines() {
        // SAFETY: writes a live buffer.
        let done =
            unsafe { libc::syscall(libc::SYS_write, (1u64 << 32) | 1, line.as_ptr(), line.len()) };
        answer(done).expect("the kernel takes the low 32 bits");
    }
}

fn dup() {
    // SAFETY: duplicates descriptor 1; the copy is ours.
    let copy = unsafe { OwnedFd::from_raw_fd(libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 100)) };
    let mut copy = std::fs::File::from(copy);
    for line in lines() {
        copy.write_all(line.as_bytes()).expect("written");
    }
}

fn sendmsg() {
    for line in lines() {
        let mut vector = libc::iovec {
            iov_base: line.as_ptr().cast_mut().cast(),
            iov_len: line.len(),
        };
        // SAFETY: an all-zero msghdr is valid (no name, no control).
        let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
        message.msg_iov = &raw mut vector;
        message.msg_iovlen = 1;
        // SAFETY: the header and its vector outlive the call.
        let done = unsafe { libc::sendmsg(1, &raw const message, 0) };
        if let Err(e) = answer(done as libc::c_long) {
            return fall_back(&format!("sendmsg: refused ({e})"));
        }
    }
}

fn aio() {
    let mut context: libc::c_ulong = 0;
    // SAFETY: io_setup writes the context into a live local.
    let done = unsafe { libc::syscall(libc::SYS_io_setup, 8, &raw mut context) };
    if let Err(e) = answer(done) {
        return fall_back(&format!("io_setup: refused ({e})"));
    }
    let text = lines().concat();
    // struct iocb: data, key+rw_flags, opcode (1 = pwrite), prio, fd,
    // buf, nbytes, offset, reserved, flags, resfd.
    let mut iocb = [0u64; 8];
    iocb[2] = 1; // aio_lio_opcode = IOCB_CMD_PWRITE, aio_reqprio = 0
    iocb[2] |= 1 << 32; // aio_fildes = 1
    iocb[3] = text.as_ptr() as u64;
    iocb[4] = text.len() as u64;
    let list = [iocb.as_ptr()];
    // SAFETY: the control block and its buffer outlive the call and the
    // wait for its completion below.
    let done = unsafe { libc::syscall(libc::SYS_io_submit, context, 1, list.as_ptr()) };
    if let Err(e) = answer(done) {
        return fall_back(&format!("io_submit: refused ({e})"));
    }
    let mut event = [0u64; 4];
    // SAFETY: waits for one event into a live buffer.
    unsafe { libc::syscall(libc::SYS_io_getevents, context, 1, 1, event.as_mut_ptr(), 0) };
}

fn seccomp() {
    // A filter that would answer `write` to descriptor 99 (none) with a
    // user notification, and everything else with ALLOW: harmless, but
    // proof that a filter of the program's own could be installed.
    let filter = [
        libc::sock_filter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 0,
        }, // ld nr
        libc::sock_filter {
            code: 0x15,
            jt: 0,
            jf: 3,
            k: 1,
        }, // jeq write
        libc::sock_filter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 16,
        }, // ld arg0
        libc::sock_filter {
            code: 0x15,
            jt: 0,
            jf: 1,
            k: 99,
        }, // jeq 99
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_USER_NOTIF,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ALLOW,
        },
    ];
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: the program outlives both calls.
    let through_seccomp = answer(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &raw const program,
        )
    });
    // SAFETY: as above.
    let through_prctl = answer(libc::c_long::from(unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &raw const program,
        )
    }));
    let said = |r: std::io::Result<libc::c_long>| match r {
        Ok(_) => "installed".to_owned(),
        Err(e) => format!("refused ({e})"),
    };
    fall_back(&format!(
        "seccomp: {}; prctl(PR_SET_SECCOMP): {}",
        said(through_seccomp),
        said(through_prctl)
    ));
}

fn stderr_budget() {
    let chunk = vec![b'x'; 64 * 1024];
    let mut stderr = std::io::stderr();
    for _ in 0..17 {
        let _ = stderr.write_all(&chunk);
    }
    let _ = stderr.write_all(b"\n");
    for line in lines() {
        print!("{line}");
    }
}

fn split_line() -> common::Result<()> {
    let mut processes = Vec::new();
    let mut signals = Vec::new();
    for _ in 1..=4 {
        let (read_end, write_end) = nix::unistd::pipe().expect("pipe");
        let mut process = Process::from_closure(move || {
            let _ = nix::unistd::read(&read_end, &mut [0u8; 1]);
            let _ = std::io::stdout().write_all(b"\n");
        });
        process.start()?;
        processes.push(process);
        signals.push(write_end);
    }
    for (n, (process, signal)) in (1..).zip(processes.iter().zip(signals)) {
        let mut stdout = std::io::stdout();
        let _ = write!(stdout, "Process {n}: Printing {n}");
        let _ = stdout.flush();
        let _ = nix::unistd::write(&signal, b"g");
        process.join()?;
    }
    Ok(())
}

fn read_back() -> common::Result<()> {
    let opened = std::fs::File::open("/proc/self/fd/1");
    let mut processes: Vec<Process> = (1..=4)
        .map(|n: u32| Process::with_args(|n: u32| println!("Process {n}: Printing {n}"), n))
        .collect();
    match opened {
        Err(e) => {
            eprintln!("open /proc/self/fd/1 for reading: refused ({e})");
            for process in &mut processes {
                process.start()?;
            }
            for process in &processes {
                process.join()?;
            }
        }
        Ok(mut back) => {
            for process in &mut processes {
                process.start()?;
            }
            for process in &processes {
                process.join()?;
            }
            // Take the children's lines out, and print copies.
            let wanted = lines().concat().len();
            let mut taken = vec![0u8; wanted];
            let _ = back.read_exact(&mut taken);
            eprintln!("read back {} bytes from stdout", taken.len());
            for line in lines() {
                print!("{line}");
            }
        }
    }
    Ok(())
}

fn main() -> common::Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    match mode.as_str() {
        "split-line" => split_line()?,
        "read-back" => read_back()?,
        _ => {
            idle_children()?;
            match mode.as_str() {
                "high-fd" => high_fd(),
                "dup" => dup(),
                "sendmsg" => sendmsg(),
                "aio" => aio(),
                "seccomp" => seccomp(),
                "stderr-budget" => stderr_budget(),
                other => panic!("unknown mode {other:?}"),
            }
        }
    }
    println!("All processes have completed.");
    Ok(())
}
