//! The durable example's entry point: the functions live in the library, so tests can reach them.

fn main() {
    durable_example::app().run();
}
