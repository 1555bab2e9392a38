//! "Did you mean" suggestions for near misses.

/// The candidate closest to `input`, when it is close enough to be a likely typo.
pub(crate) fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let length = input.chars().count();
    let limit = (length / 3).max(1);
    candidates
        .into_iter()
        // The distance is at least the difference in length: a long input is compared with
        // nothing (the candidates are short), so a key of a megabyte costs no time.
        .filter(|candidate| candidate.chars().count().abs_diff(length) <= limit)
        .map(|candidate| (edit_distance(input, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Edits (insert, delete, substitute, swap two neighbours) that turn `from` into `to`: the
/// optimal string alignment distance.
pub(crate) fn edit_distance(from: &str, to: &str) -> usize {
    let from: Vec<char> = from.chars().collect();
    let to: Vec<char> = to.chars().collect();
    // Three rows of the dynamic-programming table: two back (for swaps), one back, current.
    let mut two_back: Vec<usize> = vec![0; to.len() + 1];
    let mut one_back: Vec<usize> = (0..=to.len()).collect();
    let mut current: Vec<usize> = vec![0; to.len() + 1];
    for i in 1..=from.len() {
        current[0] = i;
        for j in 1..=to.len() {
            let substitution = usize::from(from[i - 1] != to[j - 1]);
            let mut best = (one_back[j] + 1).min(current[j - 1] + 1).min(one_back[j - 1] + substitution);
            if i > 1 && j > 1 && from[i - 1] == to[j - 2] && from[i - 2] == to[j - 1] {
                best = best.min(two_back[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut two_back, &mut one_back);
        std::mem::swap(&mut one_back, &mut current);
    }
    one_back[to.len()]
}

/// `a`, `b` and `c`: a list of literals for a message.
pub(crate) fn list_literals<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    joined(items, "and")
}

/// `` `a`, `b` or `c` ``: the values one may choose from.
pub(crate) fn list_alternatives<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    joined(items, "or")
}

fn joined<'a>(items: impl IntoIterator<Item = &'a str>, conjunction: &str) -> String {
    let items: Vec<String> = items.into_iter().map(|item| format!("`{item}`")).collect();
    match items.as_slice() {
        [] => String::new(),
        [single] => single.clone(),
        [init @ .., last] => format!("{} {conjunction} {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_inserts_deletes_substitutions_and_swaps() {
        assert_eq!(edit_distance("versioning", "versioning"), 0);
        assert_eq!(edit_distance("versionning", "versioning"), 1);
        assert_eq!(edit_distance("bukcet", "bucket"), 1);
        assert_eq!(edit_distance("us-east2", "us-east-2"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn closest_only_suggests_near_misses() {
        let keys = ["name", "versioning", "tags"];
        assert_eq!(closest("versionning", keys), Some("versioning"));
        assert_eq!(closest("nmae", keys), Some("name"));
        assert_eq!(closest("colour", keys), None);
    }

    #[test]
    fn literals_are_listed_in_backticks() {
        assert_eq!(list_literals(["a"]), "`a`");
        assert_eq!(list_literals(["a", "b", "c"]), "`a`, `b` and `c`");
    }
}
