//! A right Q8 written in another style than the reference: a second
//! shared `Value` (how many processes finished, counted with an atomic
//! `add`), the lock taken in a helper function, the arguments read by
//! hand, workers from the builder. It must get full marks under every
//! start method: the grader watches both values.

use common::{Process, Value};

fn bump(counter: &Value<i32>) {
    let _held = counter.get_lock().acquire().expect("the counter's lock");
    let value = counter.get();
    counter.set(value + 1);
}

fn work((counter, done, increments): (Value<i32>, Value<i32>, u32)) {
    (0..increments).for_each(|_| bump(&counter));
    done.add(1);
}

fn main() -> common::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u32| {
        args.windows(2)
            .find(|pair| pair[0] == name)
            .map_or(default, |pair| pair[1].parse().expect("a number"))
    };
    let (processes, increments) = (arg("--processes", 4), arg("--increments", 1000));
    let counter = Value::new(0i32)?;
    let done = Value::new(0i32)?;
    let mut workers = Vec::new();
    for i in 0..processes {
        let args = (counter.try_clone()?, done.try_clone()?, increments);
        workers.push(
            Process::builder()
                .name(format!("worker {i}"))
                .with_args(work, args),
        );
    }
    for worker in &mut workers {
        worker.start()?;
    }
    for worker in &workers {
        worker.join()?;
    }
    assert_eq!(done.get(), processes as i32);
    println!("Counter: {}", counter.get());
    Ok(())
}
