//! Commands that make things for people, apart from the grading engine:
//! a new exercise for a maintainer ([`new`]), the students' copy of the
//! workspace ([`handout`]), the copy the platforms grade with ([`kit`]),
//! Gradescope's autograder ([`gradescope`]), and the student's grading
//! loop ([`watch`]).
//!
//! Each uses the engine (the registry, [`grade`](crate::grade())); nothing of
//! the engine uses them, but for one fact: what a student was given is
//! what [`handout::files`] makes, which grading a submission compares
//! against ([`Instructor`](crate::Instructor)).

pub mod gradescope;
pub mod handout;
pub mod kit;
pub mod new;
pub mod watch;
