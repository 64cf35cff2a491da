//! The shop app's entry point: the functions live in the library, so tests can reach them.

fn main() {
    shop::app().run();
}
