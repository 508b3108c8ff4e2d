//! The glob patterns of IAM policies: `*` matches any run of characters (none included) and `?`
//! exactly one character; both cross `/` and `:`, as in AWS's `Action` and `Resource` matching.
//!
//! A pattern is compiled once, when its policy is parsed, into the runs of text between its `*`s
//! (segments): the first run must match at the start of the subject, the last one at its end,
//! and every run in between at its leftmost place after the previous one. That is exact for this
//! glob language (a run has a fixed length in characters, so the leftmost placement never blocks a
//! later run), needs no backtracking, and matching allocates nothing.
//!
//! The commonest shapes — a literal (`s3:GetObject`), a literal followed by one `*`
//! (`arn:aws:s3:::bucket/*`) and `*` alone — skip the segment walk: the evaluator runs on every
//! request, over every statement.
//!
//! Patterns assembled at evaluation time (with policy variables substituted) are matched as a
//! stream of [`GlobToken`]s by [`matches_tokens`], so that they need no compiling either.
//!
//! Patterns are case-sensitive, except the ones built by [`Pattern::ascii_case_insensitive`]
//! (action names), which fold ASCII letters only: every known action name is ASCII.

/// One compiled glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    shape: Shape,
    /// Whether ASCII letters compare without case (the literals are stored lowercased).
    fold_case: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// No wildcard: the subject must be this text.
    Exact(String),
    /// This text followed by a single trailing `*`.
    Prefix(String),
    /// Only `*`s: everything matches.
    Anything,
    /// The runs between `*`s: one more than there are stars, never empty.
    Segments(Vec<Segment>),
}

/// The text between two `*`s: literals and `?`s, matching a fixed number of characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Segment {
    pieces: Vec<Piece>,
    /// How many characters the segment matches (literal characters plus `?`s).
    chars: usize,
    /// Whether any piece is a `?` (else the segment's byte length is fixed too).
    has_any_char: bool,
    /// The total byte length of the literal pieces.
    literal_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    /// `?`: exactly one character.
    AnyChar,
}

impl Pattern {
    /// A pattern whose ASCII letters match either case (for action names).
    pub fn ascii_case_insensitive(glob: &str) -> Pattern {
        let mut builder = PatternBuilder::new(true);
        builder.glob(glob);
        builder.build()
    }

    /// Whether the whole of `subject` matches the pattern.
    pub fn matches(&self, subject: &str) -> bool {
        match &self.shape {
            Shape::Exact(text) if self.fold_case => subject.eq_ignore_ascii_case(text),
            Shape::Exact(text) => subject == text,
            Shape::Prefix(prefix) => subject
                .as_bytes()
                .get(..prefix.len())
                .is_some_and(|head| equal_bytes(head, prefix.as_bytes(), self.fold_case)),
            Shape::Anything => true,
            Shape::Segments(segments) => self.matches_segments(segments, subject),
        }
    }

    fn matches_segments(&self, segments: &[Segment], subject: &str) -> bool {
        let Some((first, rest)) = segments.split_first() else {
            return subject.is_empty();
        };
        let Some((last, middle)) = rest.split_last() else {
            return first.match_at(subject, 0, self.fold_case) == Some(subject.len());
        };
        let Some(mut position) = first.match_at(subject, 0, self.fold_case) else {
            return false;
        };
        for segment in middle {
            match segment.find_from(subject, position, self.fold_case) {
                Some(end) => position = end,
                None => return false,
            }
        }
        last.match_suffix(subject, position, self.fold_case)
    }
}

/// Builds a [`Pattern`] piece by piece: glob text (whose `*` and `?` are wildcards) and literal
/// text (whose `*` and `?` are plain characters, e.g. a substituted policy variable).
#[derive(Debug)]
pub struct PatternBuilder {
    /// The segments closed by a `*`.
    finished: Vec<Segment>,
    /// The segment being built (after the last `*`).
    current: Segment,
    fold_case: bool,
}

impl PatternBuilder {
    /// An empty pattern (which matches only the empty string until something is added).
    pub fn new(fold_case: bool) -> PatternBuilder {
        PatternBuilder {
            finished: Vec::new(),
            current: Segment::default(),
            fold_case,
        }
    }

    /// Appends glob text: `*` and `?` are wildcards.
    pub fn glob(&mut self, text: &str) {
        for (star_index, between_stars) in text.split('*').enumerate() {
            if star_index > 0 {
                self.finished.push(std::mem::take(&mut self.current));
            }
            for (mark_index, literal) in between_stars.split('?').enumerate() {
                if mark_index > 0 {
                    self.current.push_any_char();
                }
                self.literal(literal);
            }
        }
    }

    /// Appends literal text: every character matches only itself.
    pub fn literal(&mut self, text: &str) {
        if !text.is_empty() {
            self.current.push_literal(text, self.fold_case);
        }
    }

    /// The finished pattern, in its cheapest shape.
    pub fn build(mut self) -> Pattern {
        self.finished.push(self.current);
        let mut segments = self.finished;
        let shape = match segments.as_mut_slice() {
            [only] if !only.has_any_char => Shape::Exact(only.take_literal()),
            [first, last] if !first.has_any_char && last.pieces.is_empty() => {
                Shape::Prefix(first.take_literal())
            }
            all if all.len() > 1 && all.iter().all(|segment| segment.pieces.is_empty()) => {
                Shape::Anything
            }
            _ => Shape::Segments(segments),
        };
        Pattern {
            shape,
            fold_case: self.fold_case,
        }
    }
}

impl Segment {
    fn push_literal(&mut self, text: &str, fold_case: bool) {
        let text = if fold_case {
            text.to_ascii_lowercase()
        } else {
            text.to_owned()
        };
        self.chars += text.chars().count();
        self.literal_bytes += text.len();
        if let Some(Piece::Literal(previous)) = self.pieces.last_mut() {
            previous.push_str(&text);
        } else {
            self.pieces.push(Piece::Literal(text));
        }
    }

    /// The text of a segment without `?`s (its one literal piece, if any).
    fn take_literal(&mut self) -> String {
        match self.pieces.pop() {
            Some(Piece::Literal(text)) => text,
            Some(Piece::AnyChar) | None => String::new(),
        }
    }

    fn push_any_char(&mut self) {
        self.chars += 1;
        self.has_any_char = true;
        self.pieces.push(Piece::AnyChar);
    }

    /// Where the segment ends when it matches `subject` starting at byte `start`.
    fn match_at(&self, subject: &str, start: usize, fold_case: bool) -> Option<usize> {
        let bytes = subject.as_bytes();
        let mut position = start;
        for piece in &self.pieces {
            match piece {
                Piece::Literal(literal) => {
                    let end = position.checked_add(literal.len())?;
                    let candidate = bytes.get(position..end)?;
                    if !equal_bytes(candidate, literal.as_bytes(), fold_case) {
                        return None;
                    }
                    position = end;
                }
                Piece::AnyChar => {
                    let character = subject.get(position..)?.chars().next()?;
                    position += character.len_utf8();
                }
            }
        }
        Some(position)
    }

    /// The end of the leftmost match starting at or after byte `from`.
    fn find_from(&self, subject: &str, from: usize, fold_case: bool) -> Option<usize> {
        let mut start = from;
        if !fold_case && let Some(Piece::Literal(first)) = self.pieces.first() {
            // Jump straight to the places where the leading literal occurs.
            loop {
                start += subject.get(start..)?.find(first.as_str())?;
                if let Some(end) = self.match_at(subject, start, fold_case) {
                    return Some(end);
                }
                start += subject.get(start..)?.chars().next()?.len_utf8();
            }
        }
        loop {
            if let Some(end) = self.match_at(subject, start, fold_case) {
                return Some(end);
            }
            start += subject.get(start..)?.chars().next()?.len_utf8();
        }
    }

    /// Whether the segment matches the end of `subject`, starting at or after byte `from`.
    fn match_suffix(&self, subject: &str, from: usize, fold_case: bool) -> bool {
        let start = if self.has_any_char {
            // The segment matches exactly `self.chars` characters: count them back from the end.
            match self.chars.checked_sub(1) {
                None => subject.len(),
                Some(before_last) => match subject.char_indices().rev().nth(before_last) {
                    Some((index, _)) => index,
                    None => return false,
                },
            }
        } else {
            match subject.len().checked_sub(self.literal_bytes) {
                Some(start) => start,
                None => return false,
            }
        };
        start >= from && self.match_at(subject, start, fold_case) == Some(subject.len())
    }
}

fn equal_bytes(subject: &[u8], literal: &[u8], fold_case: bool) -> bool {
    if fold_case {
        subject.eq_ignore_ascii_case(literal)
    } else {
        subject == literal
    }
}

/// One element of a glob pattern given as a token stream (for patterns assembled at
/// evaluation time, such as those with policy variables, which are matched without compiling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobToken {
    /// `*`
    AnyRun,
    /// `?`
    AnyChar,
    /// A character that matches only itself (case-sensitively).
    Char(char),
}

/// Whether the whole of `subject` matches the pattern `tokens`, allocating nothing: the classic
/// single-backtrack glob walk (on a mismatch, the last `*` takes one more character and the walk
/// resumes after it).
pub fn matches_tokens(tokens: impl Iterator<Item = GlobToken> + Clone, subject: &str) -> bool {
    let mut pattern = tokens;
    let mut rest = subject;
    // The pattern after the last `*` seen, and where in the subject that `*`'s match ends.
    let mut backtrack: Option<(_, &str)> = None;
    loop {
        match pattern.next() {
            Some(GlobToken::AnyRun) => {
                backtrack = Some((pattern.clone(), rest));
                continue;
            }
            Some(token) => {
                let mut characters = rest.chars();
                if let Some(character) = characters.next()
                    && (token == GlobToken::AnyChar || token == GlobToken::Char(character))
                {
                    rest = characters.as_str();
                    continue;
                }
            }
            None if rest.is_empty() => return true,
            None => {}
        }
        let Some((after_star, star_end)) = &mut backtrack else {
            return false;
        };
        let mut characters = star_end.chars();
        if characters.next().is_none() {
            return false;
        }
        *star_end = characters.as_str();
        rest = star_end;
        pattern = after_star.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A case-sensitive pattern from glob text.
    fn compile(glob: &str) -> Pattern {
        let mut builder = PatternBuilder::new(false);
        builder.glob(glob);
        builder.build()
    }

    fn matches(pattern: &str, subject: &str) -> bool {
        compile(pattern).matches(subject)
    }

    #[test]
    fn literal_patterns_match_only_themselves() {
        assert!(matches("s3:GetObject", "s3:GetObject"));
        assert!(!matches("s3:GetObject", "s3:GetObjectAcl"));
        assert!(!matches("s3:GetObject", "s3:GetObjec"));
        assert!(!matches("s3:GetObject", "s3:getobject"));
        assert!(matches("", ""));
        assert!(!matches("", "a"));
    }

    #[test]
    fn star_matches_any_run_including_none() {
        assert!(matches("*", ""));
        assert!(matches("*", "anything/at:all"));
        assert!(matches("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/"));
        assert!(matches(
            "arn:aws:s3:::bucket/*",
            "arn:aws:s3:::bucket/a/b/c"
        ));
        assert!(!matches("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket"));
        assert!(!matches("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket2/a"));
        assert!(matches("arn:*:s3:::b", "arn:aws:s3:::b"));
        assert!(matches("a*b*c", "abc"));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(matches("a*b*c", "abcbc"));
        assert!(!matches("a*b*c", "abcb"));
        assert!(matches("*.csv", "x/y.csv"));
        assert!(!matches("*.csv", "x/y.csvx"));
        assert!(matches("**", "x"));
        assert!(matches("a**b", "ab"));
        assert!(matches("*a*", "bab"));
        assert!(!matches("*a*", "bbb"));
    }

    #[test]
    fn star_crosses_slashes_and_colons() {
        assert!(matches("arn:aws:s3:::b/*/x", "arn:aws:s3:::b/1/2/x"));
        assert!(matches("arn:aws:s3:::*", "arn:aws:s3:::b/key:with:colons"));
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(!matches("a?c", "abbc"));
        assert!(matches("a?c", "aéc"));
        assert!(matches("*?", "é"));
        assert!(!matches("*?", ""));
        assert!(matches("*a?", "xxaé"));
        assert!(matches("?*?", "ab"));
        assert!(!matches("?*?", "a"));
        assert!(matches("x*?y?*z", "x1y2z"));
        assert!(matches("log-????-??.txt", "log-2026-01.txt"));
        assert!(!matches("log-????-??.txt", "log-26-01.txt"));
    }

    #[test]
    fn non_ascii_subjects_never_split_characters() {
        assert!(matches("*ü*", "grüße"));
        assert!(matches("gr?ße", "grüße"));
        assert!(matches("gr??e", "grüße"));
        assert!(!matches("gr???e", "grüße"));
        assert!(matches("*e", "grüße"));
        assert!(matches("日*語", "日本語"));
        assert!(!matches("日?", "日本語"));
    }

    #[test]
    fn ascii_case_insensitive_patterns_fold_letters() {
        let pattern = Pattern::ascii_case_insensitive("s3:Get*");
        assert!(pattern.matches("s3:GetObject"));
        assert!(pattern.matches("S3:GETOBJECT"));
        assert!(pattern.matches("s3:getbucketpolicy"));
        assert!(!pattern.matches("s3:PutObject"));
        let pattern = Pattern::ascii_case_insensitive("*object*");
        assert!(pattern.matches("s3:GetObjectAcl"));
        assert!(Pattern::ascii_case_insensitive("s3:ListBucket").matches("S3:LISTBUCKET"));
    }

    /// The definition, as a slow recursive matcher.
    fn reference(pattern: &[char], subject: &[char]) -> bool {
        match pattern.split_first() {
            None => subject.is_empty(),
            Some(('*', rest)) => (0..=subject.len()).any(|skip| reference(rest, &subject[skip..])),
            Some(('?', rest)) => !subject.is_empty() && reference(rest, &subject[1..]),
            Some((literal, rest)) => {
                subject.first() == Some(literal) && reference(rest, &subject[1..])
            }
        }
    }

    /// Every string of up to `max` characters from `alphabet`.
    fn strings(alphabet: &[char], max: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut previous = vec![String::new()];
        for _ in 0..max {
            let next: Vec<String> = previous
                .iter()
                .flat_map(|prefix| alphabet.iter().map(move |c| format!("{prefix}{c}")))
                .collect();
            all.extend(next.iter().cloned());
            previous = next;
        }
        all
    }

    #[test]
    fn compiled_and_token_matchers_agree_with_the_definition() {
        let patterns = strings(&['a', 'é', '*', '?'], 5);
        let subjects = strings(&['a', 'b', 'é'], 5);
        for pattern in &patterns {
            let compiled = compile(pattern);
            let pattern_chars: Vec<char> = pattern.chars().collect();
            let tokens = pattern.chars().map(|c| match c {
                '*' => GlobToken::AnyRun,
                '?' => GlobToken::AnyChar,
                c => GlobToken::Char(c),
            });
            for subject in &subjects {
                let subject_chars: Vec<char> = subject.chars().collect();
                let expected = reference(&pattern_chars, &subject_chars);
                assert_eq!(
                    compiled.matches(subject),
                    expected,
                    "{pattern} vs {subject}"
                );
                assert_eq!(
                    matches_tokens(tokens.clone(), subject),
                    expected,
                    "tokens {pattern} vs {subject}"
                );
            }
        }
    }

    #[test]
    fn literal_text_in_a_builder_is_not_a_wildcard() {
        let mut builder = PatternBuilder::new(false);
        builder.glob("arn:aws:s3:::home/");
        builder.literal("a*?");
        builder.glob("/*");
        let pattern = builder.build();
        assert!(pattern.matches("arn:aws:s3:::home/a*?/x"));
        assert!(!pattern.matches("arn:aws:s3:::home/abc/x"));
    }
}
