//! A hostile Q6 whose four "processes" share the main process's memory: each
//! is made with `clone(CLONE_VM)` on a stack of its own, checks in by hand,
//! prints its line and exits. Each has a pid of its own and the main
//! process for parent, but no memory of its own: a thread in all but name.

#![expect(
    unsafe_code,
    reason = "a submission may do what it likes; this one clones by hand"
)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use nix::sys::wait::waitpid;
use nix::unistd::Pid;

/// What each clone runs: check in, print, leave.
extern "C" fn child(number: *mut libc::c_void) -> libc::c_int {
    let n = number as usize;
    if let Some(path) = std::env::var_os("COMMON_CHECKIN")
        && let Ok(mut socket) = UnixStream::connect(path)
    {
        let _ = writeln!(socket, "Process-{n}");
        let _ = socket.read(&mut [0u8; 1]);
    }
    println!("Process {n}: Printing {n}");
    // SAFETY: ends this clone (its own thread group) at once.
    unsafe { libc::_exit(0) }
}

fn main() {
    for n in 1..=4usize {
        let mut stack = vec![0u8; 256 * 1024];
        // SAFETY: the stack outlives the clone, which the main process
        // waits for before the stack is dropped; the clone shares memory
        // with a main process that only waits meanwhile.
        let pid = unsafe {
            let top = stack.as_mut_ptr().add(stack.len()).cast::<libc::c_void>();
            libc::clone(
                child,
                top,
                libc::CLONE_VM | libc::SIGCHLD,
                n as *mut libc::c_void,
            )
        };
        assert!(pid > 0, "clone: {}", std::io::Error::last_os_error());
        waitpid(Pid::from_raw(pid), None).expect("waited");
        drop(stack);
    }
    println!("All processes have completed.");
}
