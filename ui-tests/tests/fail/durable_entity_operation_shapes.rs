use azfn::prelude::*;

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Counter(i64);

#[entity(name = "Counter", version = 2)]
impl Counter {
    pub fn take(self) -> i64 {
        self.0
    }

    pub fn add_two(&mut self, a: i64, b: i64) {
        self.0 += a + b;
    }

    pub fn rename(&mut self, name: &str) {
        let _ = name;
    }

    pub fn Reset(&mut self) {
        self.0 = 0;
    }

    pub fn reset(&mut self) {
        self.0 = 0;
    }

    #[operation(name = "Helper")]
    fn helper(&self) {}
}

fn main() {
    // The block is still emitted: its methods exist.
    let mut counter = Counter::default();
    counter.reset();
}
