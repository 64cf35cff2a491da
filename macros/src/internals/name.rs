//! Names as the user writes them: raw identifiers, `snake_case` keys, and typos of known words.
//!
//! Shared by the model (`ast`), attribute parsing (`attr`) and the derive, and depends on none
//! of them, so the modules of `internals` import one another in one direction only.

use syn::Ident;

/// The identifier without `r#`.
pub fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map_or_else(|| s.clone(), str::to_owned)
}

/// `snake_case` → `camelCase`.
pub fn camel_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        match c {
            '_' => upper = !out.is_empty(),
            c if upper => {
                out.push(c.to_ascii_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// The candidate closest to `word` (a typo away), for "did you mean" hints.
pub fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|&(d, c)| d > 0 && d <= 2.max(c.len() / 5))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, on bytes (names here are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn typos_find_their_word() {
        let words = ["http_trigger", "timer_trigger", "queue_trigger"];
        assert_eq!(super::closest("htp_trigger", words.into_iter()), Some("http_trigger"));
        assert_eq!(super::closest("cron", words.into_iter()), None);
    }

    #[test]
    fn open_keys_are_camel_cased() {
        assert_eq!(super::camel_case("event_hub_name"), "eventHubName");
        assert_eq!(super::camel_case("eventHubName"), "eventHubName");
        assert_eq!(super::camel_case("hub"), "hub");
    }

    #[test]
    fn raw_identifiers_lose_their_prefix() {
        let ident: syn::Ident = syn::parse_quote!(r#type);
        assert_eq!(super::unraw(&ident), "type");
    }
}
