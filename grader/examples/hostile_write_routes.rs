//! A hostile Q6 that writes its output by every route the kernel offers:
//! `write`, `writev`, `pwritev2`, `sendto` and `sendmsg` (the ones a
//! socket takes), `pwrite64` and `pwritev` (which a socket refuses), and
//! the routes that move bytes without a write of the program's own memory
//! (`sendfile`, `splice`, `vmsplice`, `tee`, `copy_file_range`), or several
//! messages at once (`sendmmsg`). It prints, through `write`, what the
//! kernel answered each route that did not write.

#![expect(
    unsafe_code,
    reason = "a submission may do what it likes; this one makes raw system calls"
)]

/// Makes system call `number` with `args`; its answer, or the error.
fn raw(number: libc::c_long, args: [libc::c_long; 6]) -> std::io::Result<i64> {
    let [a, b, c, d, e, f] = args;
    // SAFETY: every call below passes live buffers or none.
    let done = unsafe { libc::syscall(number, a, b, c, d, e, f) };
    if done < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(done)
    }
}

fn main() {
    let line = |text: &'static str| (text.as_ptr() as libc::c_long, text.len());
    let vector = |text: &'static str| libc::iovec {
        iov_base: text.as_ptr().cast_mut().cast(),
        iov_len: text.len(),
    };
    let (write, len) = line("through write\n");
    let _ = raw(libc::SYS_write, [1, write, len as libc::c_long, 0, 0, 0]);
    let writev = vector("through writev\n");
    let _ = raw(
        libc::SYS_writev,
        [1, (&raw const writev) as libc::c_long, 1, 0, 0, 0],
    );
    let pwritev2 = vector("through pwritev2\n");
    let _ = raw(
        libc::SYS_pwritev2,
        [1, (&raw const pwritev2) as libc::c_long, 1, -1, -1, 0],
    );
    let (sendto, len) = line("through sendto\n");
    let _ = raw(libc::SYS_sendto, [1, sendto, len as libc::c_long, 0, 0, 0]);
    let mut sendmsg = vector("through sendmsg\n");
    // SAFETY: an all-zero msghdr is valid (no name, no control).
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &raw mut sendmsg;
    message.msg_iovlen = 1;
    let message = (&raw const message) as libc::c_long;
    let _ = raw(libc::SYS_sendmsg, [1, message, 0, 0, 0, 0]);
    let mut several: [libc::mmsghdr; 1] = [libc::mmsghdr {
        msg_hdr: {
            // SAFETY: as above.
            let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
            header.msg_iov = &raw mut sendmsg;
            header.msg_iovlen = 1;
            header
        },
        msg_len: 0,
    }];
    let several = several.as_mut_ptr() as libc::c_long;
    let (pwrite, len) = line("through pwrite64\n");
    let routes: [(&str, libc::c_long, [libc::c_long; 6]); 8] = [
        (
            "pwrite64",
            libc::SYS_pwrite64,
            [1, pwrite, len as libc::c_long, 0, 0, 0],
        ),
        (
            "pwritev",
            libc::SYS_pwritev,
            [1, (&raw const pwritev2) as libc::c_long, 1, 0, 0, 0],
        ),
        ("sendfile", libc::SYS_sendfile, [1, 0, 0, 16, 0, 0]),
        ("splice", libc::SYS_splice, [0, 0, 1, 0, 16, 0]),
        (
            "vmsplice",
            libc::SYS_vmsplice,
            [1, (&raw const writev) as libc::c_long, 1, 0, 0, 0],
        ),
        ("tee", libc::SYS_tee, [0, 1, 16, 0, 0, 0]),
        (
            "copy_file_range",
            libc::SYS_copy_file_range,
            [0, 0, 1, 0, 16, 0],
        ),
        ("sendmmsg", libc::SYS_sendmmsg, [1, several, 1, 0, 0, 0]),
    ];
    for (name, number, args) in routes {
        match raw(number, args) {
            Ok(n) => println!("{name}: moved {n} bytes"),
            Err(e) => println!("{name}: refused ({e})"),
        }
    }
}
