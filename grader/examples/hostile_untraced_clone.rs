//! A hostile Q6 that tries to leave the tracer: `clone(CLONE_UNTRACED)`
//! for an escapee that would `setsid` and outlive the run, then a bomb of
//! 400 such clones past the process limit. It prints what the kernel
//! answered to each kind of call, then exits.

#![expect(
    unsafe_code,
    reason = "a submission may do what it likes; this one forks by hand"
)]

fn untraced_clone() -> std::io::Result<i64> {
    // SAFETY: a fork-like clone; the child only sleeps and exits.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (libc::CLONE_UNTRACED | libc::SIGCHLD) as libc::c_ulong,
            0,
            0,
            0,
            0,
        )
    };
    match pid {
        0 => {
            // SAFETY: the escapee's whole life: a new session, a sleep.
            unsafe {
                libc::setsid();
                libc::sleep(60);
                libc::_exit(0)
            }
        }
        -1 => Err(std::io::Error::last_os_error()),
        pid => Ok(pid),
    }
}

fn main() {
    match untraced_clone() {
        Ok(pid) => println!("untraced clone: made {pid}"),
        Err(e) => println!("untraced clone: refused ({e})"),
    }
    let made = (0..400).filter(|_| untraced_clone().is_ok()).count();
    println!("untraced bomb: {made} of 400 made");
}
