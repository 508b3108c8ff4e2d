//! The `Condition` element of policy statements, the request's condition keys it is tested
//! against ([`ConditionContext`]), and policy variables (`${aws:username}`), which are resolved
//! from the same keys.
//!
//! A condition block maps operators to keys to values:
//! `{"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}}`. Everything in it must hold
//! (operators and keys are ANDed); the values of one key are ORed, except under negated operators
//! (`StringNotEquals`, `NotIpAddress`, …), which hold only when the request's value matches none
//! of them. Operators may carry the `IfExists` suffix (an absent key then passes) and the
//! `ForAnyValue:` / `ForAllValues:` set prefixes for multi-valued keys.
//!
//! Everything is compiled when the policy is parsed: numbers, dates and CIDR blocks are parsed
//! (a value that does not parse makes the policy malformed), string patterns are compiled, and a
//! value containing policy variables keeps its parts so that only it allocates at evaluation,
//! when its variables are substituted from the request's context.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::document::{Json, PolicyError};
use super::wildcard::{self, GlobToken, Pattern, PatternBuilder};

/// The condition keys of one request and their values (keys case-insensitive; values as sent).
#[derive(Debug, Clone, Default)]
pub struct ConditionContext {
    /// (ASCII-lowercased key, its values in insertion order); a handful of entries per request.
    entries: Vec<(String, Vec<String>)>,
}

impl ConditionContext {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one value to a key (keys like `aws:SourceIp`, `s3:prefix`, `s3:ExistingObjectTag/team`).
    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .entries
            .iter_mut()
            .find(|(known, _)| known.eq_ignore_ascii_case(key))
        {
            Some((_, values)) => values.push(value),
            None => self.entries.push((key.to_ascii_lowercase(), vec![value])),
        }
    }

    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.entries
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(key))
            .map(|(_, values)| values.as_slice())
    }

    /// The key's values when it has at least one.
    fn values(&self, key: &str) -> Option<&[String]> {
        self.get(key).filter(|values| !values.is_empty())
    }
}

/// Whether `${…}` in a policy's strings are policy variables: only in policies of version
/// `2012-10-17`; in `2008-10-17` ones (and those without a `Version`) they are literal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Variables {
    Substituted,
    Literal,
}

/// A policy string split at its policy variables.
#[derive(Debug, Clone)]
struct Template {
    parts: Vec<TemplatePart>,
    /// The literal text every match starts with (up to the first wildcard or variable): a
    /// cheap test that rules most subjects out before the variables are looked up.
    literal_prefix: String,
}

#[derive(Debug, Clone)]
enum TemplatePart {
    /// Text as written (in a pattern, its `*` and `?` are wildcards).
    Text(String),
    /// `${*}`, `${?}` or `${$}`: the character itself, never a wildcard.
    Escaped(&'static str),
    /// `${key}` or `${key, 'default'}`: the key's single value (or the default), taken literally.
    Variable {
        key: String,
        default: Option<String>,
    },
}

impl Template {
    fn parse(source: &str, variables: Variables) -> Template {
        if variables == Variables::Literal || !source.contains("${") {
            return Template::new(vec![TemplatePart::Text(source.to_owned())]);
        }
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = source;
        while let Some((before, after)) = rest.split_once("${") {
            text.push_str(before);
            match parse_variable(after) {
                Some((part, remaining)) => {
                    if !text.is_empty() {
                        parts.push(TemplatePart::Text(std::mem::take(&mut text)));
                    }
                    parts.push(part);
                    rest = remaining;
                }
                None => {
                    // Not a well-formed variable: the characters stand for themselves.
                    text.push_str("${");
                    rest = after;
                }
            }
        }
        text.push_str(rest);
        if !text.is_empty() || parts.is_empty() {
            parts.push(TemplatePart::Text(text));
        }
        Template::new(parts)
    }

    fn new(parts: Vec<TemplatePart>) -> Template {
        let literal_prefix = match parts.first() {
            Some(TemplatePart::Text(text)) => {
                text.split(['*', '?']).next().unwrap_or_default().to_owned()
            }
            _ => String::new(),
        };
        Template {
            parts,
            literal_prefix,
        }
    }

    fn has_variables(&self) -> bool {
        self.parts
            .iter()
            .any(|part| matches!(part, TemplatePart::Variable { .. }))
    }

    /// The parts as `(text, is_glob)` with the variables substituted from `context` (their
    /// values are never glob text); `None` when a variable's key has no single value and no
    /// default. Allocates nothing.
    fn pieces<'a>(
        &'a self,
        context: &'a ConditionContext,
    ) -> Option<impl Iterator<Item = (&'a str, bool)> + Clone + 'a> {
        if self
            .parts
            .iter()
            .all(|part| part.resolve(context).is_some())
        {
            Some(self.parts.iter().filter_map(|part| part.resolve(context)))
        } else {
            None
        }
    }

    /// The template as a compiled glob pattern.
    fn pattern(&self, context: &ConditionContext) -> Option<Pattern> {
        let mut builder = PatternBuilder::new(false);
        for (text, is_glob) in self.pieces(context)? {
            if is_glob {
                builder.glob(text);
            } else {
                builder.literal(text);
            }
        }
        Some(builder.build())
    }

    /// The template as plain text (wildcards are not special).
    fn text(&self, context: &ConditionContext) -> Option<String> {
        Some(self.pieces(context)?.map(|(text, _)| text).collect())
    }

    /// The template as glob tokens (substituted values and escapes are plain characters).
    fn tokens<'a>(
        &'a self,
        context: &'a ConditionContext,
    ) -> Option<impl Iterator<Item = GlobToken> + Clone + 'a> {
        Some(self.pieces(context)?.flat_map(|(text, is_glob)| {
            text.chars().map(move |character| match character {
                '*' if is_glob => GlobToken::AnyRun,
                '?' if is_glob => GlobToken::AnyChar,
                _ => GlobToken::Char(character),
            })
        }))
    }

    /// Whether `subject` matches the template as a glob, without compiling it.
    fn matches_glob(&self, subject: &str, context: &ConditionContext) -> bool {
        subject.starts_with(self.literal_prefix.as_str())
            && self
                .tokens(context)
                .is_some_and(|tokens| wildcard::matches_tokens(tokens, subject))
    }

    /// Whether `arn` matches the template as an `Arn*` value (see [`ArnValue`]), without
    /// compiling it.
    fn matches_arn(&self, arn: &str, context: &ConditionContext) -> bool {
        const COLON: GlobToken = GlobToken::Char(':');
        let Some(tokens) = self.tokens(context) else {
            return false;
        };
        if tokens.clone().filter(|token| *token == COLON).count() < 5 {
            return wildcard::matches_tokens(tokens, arn);
        }
        let mut components = arn.splitn(6, ':');
        (0..6).all(|index| {
            let mut colons_seen = 0;
            let component_tokens = tokens
                .clone()
                .skip_while(move |token| {
                    if colons_seen == index {
                        return false;
                    }
                    if *token == COLON {
                        colons_seen += 1;
                    }
                    true
                })
                .take_while(move |token| index == 5 || *token != COLON);
            components
                .next()
                .is_some_and(|component| wildcard::matches_tokens(component_tokens, component))
        })
    }

    /// Whether the template, as plain text, equals `subject`.
    fn equals(&self, subject: &str, context: &ConditionContext) -> bool {
        subject.starts_with(self.literal_prefix.as_str())
            && self.pieces(context).is_some_and(|mut pieces| {
                let mut rest = subject;
                pieces.all(|(text, _)| match rest.strip_prefix(text) {
                    Some(after) => {
                        rest = after;
                        true
                    }
                    None => false,
                }) && rest.is_empty()
            })
    }

    /// Whether the template, as plain text, equals `subject` but for letter case.
    fn equals_ignoring_case(&self, subject: &str, context: &ConditionContext) -> bool {
        self.pieces(context).is_some_and(|pieces| {
            pieces
                .flat_map(|(text, _)| folded_chars(text))
                .eq(folded_chars(subject))
        })
    }
}

impl TemplatePart {
    /// The part's text and whether it is glob text; `None` for a variable without a value.
    fn resolve<'a>(&'a self, context: &'a ConditionContext) -> Option<(&'a str, bool)> {
        match self {
            TemplatePart::Text(text) => Some((text, true)),
            TemplatePart::Escaped(character) => Some((character, false)),
            TemplatePart::Variable { key, default } => match (context.get(key), default) {
                (Some([value]), _) => Some((value, false)),
                (_, Some(default)) => Some((default, false)),
                _ => None,
            },
        }
    }
}

/// Parses what follows `${`: a variable, a default, or an escape, up to and including its `}`.
fn parse_variable(after: &str) -> Option<(TemplatePart, &str)> {
    let (key, rest) = after.split_at_checked(after.find([',', '}'])?)?;
    let key = key.trim();
    if key.is_empty() {
        return None;
    }
    if let Some(remaining) = rest.strip_prefix('}') {
        let part = match key {
            "*" => TemplatePart::Escaped("*"),
            "?" => TemplatePart::Escaped("?"),
            "$" => TemplatePart::Escaped("$"),
            _ if key.contains(char::is_whitespace) => return None,
            _ => TemplatePart::Variable {
                key: key.to_owned(),
                default: None,
            },
        };
        return Some((part, remaining));
    }
    // `${key, 'default'}`, where `''` inside the quotes stands for one `'`.
    let mut rest = rest.strip_prefix(',')?.trim_start().strip_prefix('\'')?;
    let mut default = String::new();
    loop {
        let (chunk, after_quote) = rest.split_once('\'')?;
        default.push_str(chunk);
        match after_quote.strip_prefix('\'') {
            Some(next) => {
                default.push('\'');
                rest = next;
            }
            None => {
                rest = after_quote;
                break;
            }
        }
    }
    let remaining = rest.trim_start().strip_prefix('}')?;
    if key.contains(char::is_whitespace) {
        return None;
    }
    Some((
        TemplatePart::Variable {
            key: key.to_owned(),
            default: Some(default),
        },
        remaining,
    ))
}

/// A glob pattern that may contain policy variables (a `Resource`, a `StringLike` value):
/// compiled at parse time unless it has variables.
#[derive(Debug, Clone)]
pub(super) struct GlobValue(GlobForm);

#[derive(Debug, Clone)]
enum GlobForm {
    Compiled(Pattern),
    Templated(Template),
}

impl GlobValue {
    pub(super) fn parse(source: &str, variables: Variables) -> GlobValue {
        let template = Template::parse(source, variables);
        if !template.has_variables()
            && let Some(pattern) = template.pattern(&ConditionContext::new())
        {
            return GlobValue(GlobForm::Compiled(pattern));
        }
        GlobValue(GlobForm::Templated(template))
    }

    /// Whether `subject` matches; a variable without a value matches nothing.
    pub(super) fn matches(&self, subject: &str, context: &ConditionContext) -> bool {
        match &self.0 {
            GlobForm::Compiled(pattern) => pattern.matches(subject),
            GlobForm::Templated(template) => template.matches_glob(subject, context),
        }
    }
}

/// A string compared whole (`StringEquals`, `StringEqualsIgnoreCase`).
#[derive(Debug, Clone)]
enum TextValue {
    /// No variables: the text (lowercased for the case-insensitive operators).
    Fixed(String),
    Templated(Template),
}

impl TextValue {
    fn parse(source: &str, variables: Variables, ignore_case: bool) -> TextValue {
        let template = Template::parse(source, variables);
        if template.has_variables() {
            return TextValue::Templated(template);
        }
        let text = template.text(&ConditionContext::new()).unwrap_or_default();
        TextValue::Fixed(if ignore_case { fold(&text) } else { text })
    }

    fn equals(&self, value: &str, context: &ConditionContext) -> bool {
        match self {
            TextValue::Fixed(text) => text == value,
            TextValue::Templated(template) => template.equals(value, context),
        }
    }

    fn equals_ignoring_case(&self, value: &str, context: &ConditionContext) -> bool {
        match self {
            TextValue::Fixed(folded) => folded.chars().eq(folded_chars(value)),
            TextValue::Templated(template) => template.equals_ignoring_case(value, context),
        }
    }
}

fn folded_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().flat_map(char::to_lowercase)
}

fn fold(text: &str) -> String {
    folded_chars(text).collect()
}

/// An `Arn*` value: the six `:`-separated parts of an ARN, each a glob (the last one, the
/// resource, keeps any further colons).
#[derive(Debug, Clone)]
enum ArnValue {
    /// Exactly six patterns.
    Components(Vec<Pattern>),
    /// A value with fewer than six parts (e.g. `*`), matched against the whole ARN.
    Whole(Pattern),
    Templated(Template),
}

impl ArnValue {
    fn parse(source: &str, variables: Variables) -> ArnValue {
        let template = Template::parse(source, variables);
        if !template.has_variables()
            && let Some(value) = ArnValue::compile(&template)
        {
            return value;
        }
        ArnValue::Templated(template)
    }

    /// Compiles a template without variables.
    fn compile(template: &Template) -> Option<ArnValue> {
        let mut whole = PatternBuilder::new(false);
        let mut components = Vec::with_capacity(6);
        let mut current = PatternBuilder::new(false);
        let add = |builder: &mut PatternBuilder, text: &str, is_glob: bool| {
            if is_glob {
                builder.glob(text);
            } else {
                builder.literal(text);
            }
        };
        for (text, is_glob) in template.pieces(&ConditionContext::new())? {
            add(&mut whole, text, is_glob);
            let mut rest = text;
            while components.len() < 5 {
                let Some((component, after)) = rest.split_once(':') else {
                    break;
                };
                add(&mut current, component, is_glob);
                let finished = std::mem::replace(&mut current, PatternBuilder::new(false));
                components.push(finished.build());
                rest = after;
            }
            add(&mut current, rest, is_glob);
        }
        if components.len() == 5 {
            components.push(current.build());
            Some(ArnValue::Components(components))
        } else {
            Some(ArnValue::Whole(whole.build()))
        }
    }

    fn matches(&self, arn: &str, context: &ConditionContext) -> bool {
        match self {
            ArnValue::Components(patterns) => {
                let mut compared = 0;
                for (pattern, component) in patterns.iter().zip(arn.splitn(6, ':')) {
                    if !pattern.matches(component) {
                        return false;
                    }
                    compared += 1;
                }
                compared == 6
            }
            ArnValue::Whole(pattern) => pattern.matches(arn),
            ArnValue::Templated(template) => template.matches_arn(arn, context),
        }
    }
}

/// An instant, to the nanosecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Timestamp {
    seconds: i64,
    nanos: u32,
}

/// An address block: `network/prefix`, IPv4-mapped IPv6 blocks stored as IPv4.
#[derive(Debug, Clone, Copy)]
struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn contains(&self, address: IpAddr) -> bool {
        match (self.network, unmap(address)) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                (u32::from(network) ^ u32::from(address)) & mask == 0
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                (u128::from(network) ^ u128::from(address)) & mask == 0
            }
            _ => false,
        }
    }

    /// Whether the block is narrow enough to name known callers (for `is_public`): AWS treats
    /// blocks wider than /8 (IPv4) or /32 (IPv6) as open to everyone.
    fn is_narrow(&self) -> bool {
        match self.network {
            IpAddr::V4(_) => self.prefix >= 8,
            IpAddr::V6(_) => self.prefix >= 32,
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as the IPv4 address it carries.
fn unmap(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// How a request's value must compare to a policy's value (`request < policy` for `LessThan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Order {
    fn holds<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Order::Equal => request == policy,
            Order::Less => request < policy,
            Order::LessOrEqual => request <= policy,
            Order::Greater => request > policy,
            Order::GreaterOrEqual => request >= policy,
        }
    }
}

/// What one operator tests, with its policy values compiled.
#[derive(Debug, Clone)]
enum Comparison {
    StringEquals(Vec<TextValue>),
    StringEqualsIgnoreCase(Vec<TextValue>),
    StringLike(Vec<GlobValue>),
    Numeric(Order, Vec<f64>),
    Date(Order, Vec<Timestamp>),
    Bool(Vec<bool>),
    /// Base64 texts, compared as sent.
    Binary(Vec<String>),
    IpAddress(Vec<Cidr>),
    Arn(Vec<ArnValue>),
    /// `true`: the key must be absent; `false`: present.
    Null(Vec<bool>),
}

impl Comparison {
    /// Whether one value of the request matches any of the policy's values.
    fn matches_any(&self, value: &str, context: &ConditionContext) -> bool {
        match self {
            Comparison::StringEquals(values) => values.iter().any(|v| v.equals(value, context)),
            Comparison::StringEqualsIgnoreCase(values) => values
                .iter()
                .any(|v| v.equals_ignoring_case(value, context)),
            Comparison::StringLike(values) => values.iter().any(|v| v.matches(value, context)),
            Comparison::Numeric(order, values) => parse_number(value)
                .is_some_and(|number| values.iter().any(|v| order.holds(number, *v))),
            Comparison::Date(order, values) => parse_date(value)
                .is_some_and(|instant| values.iter().any(|v| order.holds(instant, *v))),
            Comparison::Bool(values) => parse_bool(value).is_some_and(|b| values.contains(&b)),
            Comparison::Binary(values) => values.iter().any(|v| v == value),
            Comparison::IpAddress(blocks) => value
                .parse::<IpAddr>()
                .is_ok_and(|address| blocks.iter().any(|block| block.contains(address))),
            Comparison::Arn(values) => values.iter().any(|v| v.matches(value, context)),
            Comparison::Null(_) => false,
        }
    }
}

/// The set operator prefix of a condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOperator {
    /// No prefix: single-valued semantics (a multi-valued key matches when any value does).
    Single,
    /// `ForAnyValue:`: at least one of the request's values must match.
    AnyValue,
    /// `ForAllValues:`: every one of the request's values must match (true when there are none).
    AllValues,
}

/// One key under one operator.
#[derive(Debug, Clone)]
struct Clause {
    key: String,
    comparison: Comparison,
    /// A `Not` operator: holds when the request's value matches none of the policy's values.
    negated: bool,
    if_exists: bool,
    set: SetOperator,
    /// No value has a wildcard (for the `Like` operators) or a policy variable.
    fixed_values: bool,
}

impl Clause {
    fn holds(&self, context: &ConditionContext) -> bool {
        let values = context.values(&self.key);
        if let Comparison::Null(expected) = &self.comparison {
            let absent = values.is_none();
            return expected.contains(&absent);
        }
        let satisfied =
            |value: &String| self.comparison.matches_any(value, context) != self.negated;
        match (self.set, values) {
            (SetOperator::Single, None) => self.if_exists || self.negated,
            (SetOperator::Single, Some(values)) => {
                values
                    .iter()
                    .any(|value| self.comparison.matches_any(value, context))
                    != self.negated
            }
            (SetOperator::AnyValue, None) => self.if_exists,
            (SetOperator::AnyValue, Some(values)) => values.iter().any(satisfied),
            (SetOperator::AllValues, None) => true,
            (SetOperator::AllValues, Some(values)) => values.iter().all(satisfied),
        }
    }

    /// Whether the clause limits the request to known callers, which makes an `Allow` to
    /// everyone not public (GetBucketPolicyStatus): a positive test of one of the keys that name
    /// the caller's network, account or organisation, against fixed values.
    fn names_known_callers(&self) -> bool {
        const CALLER_KEYS: &[&str] = &[
            "aws:SourceIp",
            "aws:SourceArn",
            "aws:SourceVpc",
            "aws:SourceVpce",
            "aws:SourceAccount",
            "aws:SourceOwner",
            "aws:SourceOrgID",
            "aws:SourceOrgPaths",
            "aws:PrincipalAccount",
            "aws:PrincipalArn",
            "aws:PrincipalOrgID",
            "aws:PrincipalOrgPaths",
            "aws:userid",
            "s3:DataAccessPointArn",
            "s3:DataAccessPointAccount",
        ];
        let narrow_blocks = match &self.comparison {
            Comparison::Null(_) => return false,
            Comparison::IpAddress(blocks) => blocks.iter().all(Cidr::is_narrow),
            _ => true,
        };
        CALLER_KEYS
            .iter()
            .any(|key| key.eq_ignore_ascii_case(&self.key))
            && !self.negated
            && !self.if_exists
            && self.set != SetOperator::AllValues
            && self.fixed_values
            && narrow_blocks
    }
}

/// The compiled `Condition` element of one statement.
#[derive(Debug, Clone, Default)]
pub(super) struct ConditionBlock {
    clauses: Vec<Clause>,
}

impl ConditionBlock {
    /// Parses a statement's `Condition` value.
    pub(super) fn parse(value: &Json, variables: Variables) -> Result<ConditionBlock, PolicyError> {
        let Json::Object(operators) = value else {
            return Err(malformed(
                "Condition must be an object mapping condition operators to keys and values",
            ));
        };
        let mut clauses = Vec::new();
        for (operator_name, keys) in operators {
            let operator = Operator::parse(operator_name)
                .ok_or_else(|| malformed(format!("Invalid Condition operator: {operator_name}")))?;
            let Json::Object(keys) = keys else {
                return Err(malformed(format!(
                    "Condition operator {operator_name} must map condition keys to values"
                )));
            };
            for (key, values) in keys {
                if !is_valid_key(key) {
                    return Err(malformed(format!(
                        "Policy has an invalid condition key: {key}"
                    )));
                }
                let texts = condition_values(values, operator_name, key)?;
                let comparison = operator.compile(&texts, variables).map_err(|bad| {
                    malformed(format!(
                        "Invalid value \"{bad}\" for condition operator {operator_name} ({})",
                        operator.family.expected()
                    ))
                })?;
                let fixed_values = variables == Variables::Literal
                    || texts.iter().all(|text| !text.contains("${"));
                let fixed_values = fixed_values
                    && (!operator.family.is_glob()
                        || texts.iter().all(|text| !text.contains(['*', '?'])));
                clauses.push(Clause {
                    key: key.clone(),
                    comparison,
                    negated: operator.negated,
                    if_exists: operator.if_exists,
                    set: operator.set,
                    fixed_values,
                });
            }
        }
        Ok(ConditionBlock { clauses })
    }

    /// Whether every clause holds for the request.
    pub(super) fn holds(&self, context: &ConditionContext) -> bool {
        self.clauses.iter().all(|clause| clause.holds(context))
    }

    /// Whether some clause limits the statement to known callers (see [`Clause::names_known_callers`]).
    pub(super) fn names_known_callers(&self) -> bool {
        self.clauses.iter().any(Clause::names_known_callers)
    }
}

/// What kind of values an operator compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    String,
    StringIgnoreCase,
    StringLike,
    Numeric(Order),
    Date(Order),
    Bool,
    Binary,
    IpAddress,
    Arn,
    Null,
}

impl Family {
    fn expected(self) -> &'static str {
        match self {
            Family::Numeric(_) => "expected a number",
            Family::Date(_) => "expected an ISO 8601 date or epoch seconds",
            Family::Bool | Family::Null => "expected true or false",
            Family::Binary => "expected base64",
            Family::IpAddress => "expected an IP address or CIDR block",
            Family::String | Family::StringIgnoreCase | Family::StringLike | Family::Arn => {
                "expected a string"
            }
        }
    }

    fn is_glob(self) -> bool {
        matches!(self, Family::StringLike | Family::Arn)
    }
}

/// A condition operator's name, parsed: `ForAnyValue:StringNotLikeIfExists` and the like.
#[derive(Debug, Clone, Copy)]
struct Operator {
    family: Family,
    negated: bool,
    if_exists: bool,
    set: SetOperator,
}

impl Operator {
    fn parse(name: &str) -> Option<Operator> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (SetOperator::AnyValue, rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (SetOperator::AllValues, rest)
        } else {
            (SetOperator::Single, name)
        };
        let (if_exists, base) = match rest.strip_suffix("IfExists") {
            Some(base) => (true, base),
            None => (false, rest),
        };
        let (family, negated) = match base {
            "StringEquals" => (Family::String, false),
            "StringNotEquals" => (Family::String, true),
            "StringEqualsIgnoreCase" => (Family::StringIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (Family::StringIgnoreCase, true),
            "StringLike" => (Family::StringLike, false),
            "StringNotLike" => (Family::StringLike, true),
            "NumericEquals" => (Family::Numeric(Order::Equal), false),
            "NumericNotEquals" => (Family::Numeric(Order::Equal), true),
            "NumericLessThan" => (Family::Numeric(Order::Less), false),
            "NumericLessThanEquals" => (Family::Numeric(Order::LessOrEqual), false),
            "NumericGreaterThan" => (Family::Numeric(Order::Greater), false),
            "NumericGreaterThanEquals" => (Family::Numeric(Order::GreaterOrEqual), false),
            "DateEquals" => (Family::Date(Order::Equal), false),
            "DateNotEquals" => (Family::Date(Order::Equal), true),
            "DateLessThan" => (Family::Date(Order::Less), false),
            "DateLessThanEquals" => (Family::Date(Order::LessOrEqual), false),
            "DateGreaterThan" => (Family::Date(Order::Greater), false),
            "DateGreaterThanEquals" => (Family::Date(Order::GreaterOrEqual), false),
            "Bool" => (Family::Bool, false),
            "BinaryEquals" => (Family::Binary, false),
            "IpAddress" => (Family::IpAddress, false),
            "NotIpAddress" => (Family::IpAddress, true),
            "ArnEquals" | "ArnLike" => (Family::Arn, false),
            "ArnNotEquals" | "ArnNotLike" => (Family::Arn, true),
            "Null" if !if_exists => (Family::Null, false),
            _ => return None,
        };
        Some(Operator {
            family,
            negated,
            if_exists,
            set,
        })
    }

    /// Compiles the policy's values; on failure, the value that does not parse.
    fn compile(self, texts: &[String], variables: Variables) -> Result<Comparison, String> {
        fn each<T>(texts: &[String], parse: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
            texts
                .iter()
                .map(|text| parse(text).ok_or_else(|| text.clone()))
                .collect()
        }
        Ok(match self.family {
            Family::String => Comparison::StringEquals(each(texts, |text| {
                Some(TextValue::parse(text, variables, false))
            })?),
            Family::StringIgnoreCase => Comparison::StringEqualsIgnoreCase(each(texts, |text| {
                Some(TextValue::parse(text, variables, true))
            })?),
            Family::StringLike => {
                Comparison::StringLike(each(texts, |text| Some(GlobValue::parse(text, variables)))?)
            }
            Family::Numeric(order) => Comparison::Numeric(order, each(texts, parse_number)?),
            Family::Date(order) => Comparison::Date(order, each(texts, parse_date)?),
            Family::Bool => Comparison::Bool(each(texts, parse_bool)?),
            Family::Binary => Comparison::Binary(each(texts, |text| {
                is_base64(text).then(|| text.to_owned())
            })?),
            Family::IpAddress => Comparison::IpAddress(each(texts, parse_cidr)?),
            Family::Arn => {
                Comparison::Arn(each(texts, |text| Some(ArnValue::parse(text, variables)))?)
            }
            Family::Null => Comparison::Null(each(texts, parse_bool)?),
        })
    }
}

fn malformed(message: impl Into<String>) -> PolicyError {
    PolicyError::Malformed(message.into())
}

/// Condition keys are `prefix:name` (`aws:SourceIp`, `s3:ExistingObjectTag/team`).
fn is_valid_key(key: &str) -> bool {
    key.split_once(':')
        .is_some_and(|(prefix, name)| !prefix.is_empty() && !name.is_empty())
}

/// The values of one key as text: a string, number or boolean, or a non-empty array of them.
fn condition_values(value: &Json, operator: &str, key: &str) -> Result<Vec<String>, PolicyError> {
    let scalar = |value: &Json| match value {
        Json::String(text) => Some(text.clone()),
        Json::Number(number) => Some(number.to_string()),
        Json::Bool(flag) => Some(flag.to_string()),
        Json::Null | Json::Array(_) | Json::Object(_) => None,
    };
    let invalid = || {
        malformed(format!(
            "Condition {operator} on {key}: values must be strings, numbers or booleans, \
             or a non-empty array of them"
        ))
    };
    match value {
        Json::Array(items) if items.is_empty() => Err(invalid()),
        Json::Array(items) => items
            .iter()
            .map(|item| scalar(item).ok_or_else(invalid))
            .collect(),
        other => scalar(other).map(|text| vec![text]).ok_or_else(invalid),
    }
}

/// A decimal number: optional sign, digits with an optional fraction, optional exponent.
fn parse_number(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|exponent| {
        let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        !exponent.is_empty() && digits(exponent)
    });
    if whole.len() + fraction.len() == 0 || !digits(whole) || !digits(fraction) || !exponent_ok {
        return None;
    }
    text.parse::<f64>().ok().filter(|number| number.is_finite())
}

/// `true` or `false`, in any case.
fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A date: ISO 8601 (`2026-12-03T10:00:00Z`, with an offset or fraction, without a zone taken
/// as UTC, the basic `20261203T100000Z`, or date-only `2026-12-03`), or epoch seconds.
fn parse_date(text: &str) -> Option<Timestamp> {
    if let Some(instant) = parse_epoch(text) {
        return Some(instant);
    }
    let utc = if let Ok(date_time) = DateTime::parse_from_rfc3339(text) {
        date_time.with_timezone(&Utc)
    } else if let Ok(naive) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        naive.and_utc()
    } else if let Ok(naive) = NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ") {
        naive.and_utc()
    } else {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
            .and_utc()
    };
    Some(Timestamp {
        seconds: utc.timestamp(),
        nanos: utc.timestamp_subsec_nanos(),
    })
}

/// Epoch seconds, optionally negative and with a fraction (`1767225600`, `1767225600.5`).
fn parse_epoch(text: &str) -> Option<Timestamp> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || (unsigned.contains('.') && fraction.is_empty())
    {
        return None;
    }
    let seconds: i64 = whole.parse().ok()?;
    // Nanoseconds from the first nine fraction digits.
    let mut nanos: u32 = 0;
    for position in 0..9 {
        let digit = fraction.as_bytes().get(position).map_or(0, |b| b - b'0');
        nanos = nanos * 10 + u32::from(digit);
    }
    let instant = Timestamp { seconds, nanos };
    if !negative || (seconds == 0 && nanos == 0) {
        return Some(instant);
    }
    // -s.f = -(s + 1) + (1 - .f)
    if nanos == 0 {
        Some(Timestamp {
            seconds: seconds.checked_neg()?,
            nanos: 0,
        })
    } else {
        Some(Timestamp {
            seconds: seconds.checked_neg()?.checked_sub(1)?,
            nanos: 1_000_000_000 - nanos,
        })
    }
}

/// An IPv4 or IPv6 address or CIDR block (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`).
fn parse_cidr(text: &str) -> Option<Cidr> {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let address: IpAddr = address.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<u8>().ok().filter(|&prefix| prefix <= max)?
        }
        Some(_) => return None,
    };
    if let IpAddr::V6(v6) = address
        && prefix >= 96
        && let Some(v4) = v6.to_ipv4_mapped()
    {
        return Some(Cidr {
            network: IpAddr::V4(v4),
            prefix: prefix - 96,
        });
    }
    Some(Cidr {
        network: address,
        prefix,
    })
}

/// Standard base64 with padding (`BinaryEquals` values).
fn is_base64(text: &str) -> bool {
    let unpadded = text.trim_end_matches('=');
    let padding = text.len() - unpadded.len();
    !text.is_empty()
        && text.len().is_multiple_of(4)
        && padding <= 2
        && unpadded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(json: &str) -> ConditionBlock {
        let value: Json = serde_json::from_str(json).expect("test JSON parses");
        ConditionBlock::parse(&value, Variables::Substituted).expect("condition parses")
    }

    fn block_error(json: &str) -> String {
        let value: Json = serde_json::from_str(json).expect("test JSON parses");
        match ConditionBlock::parse(&value, Variables::Substituted) {
            Err(PolicyError::Malformed(message)) => message,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    fn context(pairs: &[(&str, &str)]) -> ConditionContext {
        let mut context = ConditionContext::new();
        for (key, value) in pairs {
            context.insert(key, *value);
        }
        context
    }

    fn holds(json: &str, pairs: &[(&str, &str)]) -> bool {
        block(json).holds(&context(pairs))
    }

    #[test]
    fn context_keys_are_case_insensitive_and_multi_valued() {
        let mut context = ConditionContext::new();
        context.insert("aws:SourceIp", "10.0.0.1");
        context.insert("AWS:TagKeys", "a");
        context.insert("aws:tagkeys", String::from("b"));
        assert_eq!(
            context.get("AWS:SOURCEIP"),
            Some(&["10.0.0.1".to_owned()][..])
        );
        assert_eq!(
            context.get("aws:TagKeys"),
            Some(&["a".to_owned(), "b".to_owned()][..])
        );
        assert_eq!(context.get("aws:username"), None);
    }

    #[test]
    fn string_equals_and_not_equals() {
        let equals = r#"{"StringEquals": {"aws:username": ["alice", "bob"]}}"#;
        assert!(holds(equals, &[("aws:username", "alice")]));
        assert!(holds(equals, &[("aws:username", "bob")]));
        assert!(!holds(equals, &[("aws:username", "Alice")]));
        assert!(!holds(equals, &[]));
        let not_equals = r#"{"StringNotEquals": {"aws:username": ["alice", "bob"]}}"#;
        assert!(!holds(not_equals, &[("aws:username", "alice")]));
        assert!(!holds(not_equals, &[("aws:username", "bob")]));
        assert!(holds(not_equals, &[("aws:username", "carol")]));
        assert!(
            holds(not_equals, &[]),
            "a negated operator holds for an absent key"
        );
    }

    #[test]
    fn condition_keys_in_policies_are_case_insensitive() {
        assert!(holds(
            r#"{"StringEquals": {"AWS:UserName": "alice"}}"#,
            &[("aws:username", "alice")]
        ));
    }

    #[test]
    fn string_equals_ignore_case() {
        let json = r#"{"StringEqualsIgnoreCase": {"s3:x-amz-acl": "Public-Read"}}"#;
        assert!(holds(json, &[("s3:x-amz-acl", "public-read")]));
        assert!(holds(json, &[("s3:x-amz-acl", "PUBLIC-READ")]));
        assert!(!holds(json, &[("s3:x-amz-acl", "private")]));
        let json = r#"{"StringNotEqualsIgnoreCase": {"s3:x-amz-acl": "Private"}}"#;
        assert!(!holds(json, &[("s3:x-amz-acl", "PRIVATE")]));
        assert!(holds(json, &[("s3:x-amz-acl", "public-read")]));
        assert!(holds(
            r#"{"StringEqualsIgnoreCase": {"k:v": "STRASSE Ä"}}"#,
            &[("k:v", "strasse ä")]
        ));
    }

    #[test]
    fn string_like_and_not_like() {
        let like = r#"{"StringLike": {"s3:prefix": ["home/*", "shared/??/*"]}}"#;
        assert!(holds(like, &[("s3:prefix", "home/alice/")]));
        assert!(holds(like, &[("s3:prefix", "shared/ab/x")]));
        assert!(!holds(like, &[("s3:prefix", "shared/abc/x")]));
        assert!(!holds(like, &[("s3:prefix", "other")]));
        assert!(!holds(like, &[]));
        let not_like = r#"{"StringNotLike": {"s3:prefix": ["home/*", "tmp/*"]}}"#;
        assert!(holds(not_like, &[("s3:prefix", "data/x")]));
        assert!(!holds(not_like, &[("s3:prefix", "tmp/x")]));
        assert!(holds(not_like, &[]));
    }

    #[test]
    fn numeric_operators() {
        let key = "s3:max-keys";
        let cases: &[(&str, &str, bool)] = &[
            ("NumericEquals", "10", true),
            ("NumericEquals", "10.0", true),
            ("NumericEquals", "11", false),
            ("NumericNotEquals", "10", false),
            ("NumericNotEquals", "11", true),
            ("NumericLessThan", "9", true),
            ("NumericLessThan", "10", false),
            ("NumericLessThanEquals", "10", true),
            ("NumericLessThanEquals", "11", false),
            ("NumericGreaterThan", "11", true),
            ("NumericGreaterThan", "10", false),
            ("NumericGreaterThanEquals", "10", true),
            ("NumericGreaterThanEquals", "9.5", false),
            ("NumericEquals", "ten", false),
        ];
        for (operator, request, expected) in cases {
            let json = format!(r#"{{"{operator}": {{"{key}": "10"}}}}"#);
            assert_eq!(
                holds(&json, &[(key, request)]),
                *expected,
                "{operator} with request {request}"
            );
        }
        // JSON numbers are accepted as values.
        assert!(holds(
            r#"{"NumericLessThanEquals": {"s3:max-keys": 100}}"#,
            &[(key, "100")]
        ));
        assert!(holds(
            r#"{"NumericGreaterThan": {"s3:max-keys": -1.5e1}}"#,
            &[(key, "-10")]
        ));
        assert!(!holds(r#"{"NumericEquals": {"s3:max-keys": 1}}"#, &[]));
        assert!(holds(r#"{"NumericNotEquals": {"s3:max-keys": 1}}"#, &[]));
    }

    #[test]
    fn date_operators() {
        let key = "aws:CurrentTime";
        let cases: &[(&str, &str, bool)] = &[
            ("DateEquals", "2026-12-03T10:00:00Z", true),
            ("DateEquals", "2026-12-03T11:00:00+01:00", true),
            ("DateEquals", "1796292000", true),
            ("DateEquals", "20261203T100000Z", true),
            ("DateNotEquals", "2026-12-03T10:00:00Z", false),
            ("DateNotEquals", "2026-12-03T10:00:01Z", true),
            ("DateLessThan", "2026-12-03T09:59:59Z", true),
            ("DateLessThan", "2026-12-03T10:00:00Z", false),
            ("DateLessThanEquals", "2026-12-03T10:00:00Z", true),
            ("DateGreaterThan", "2026-12-03T10:00:00.001Z", true),
            ("DateGreaterThan", "2026-12-03", false),
            ("DateGreaterThanEquals", "2026-12-04", true),
            ("DateGreaterThanEquals", "not a date", false),
        ];
        for (operator, request, expected) in cases {
            let json = format!(r#"{{"{operator}": {{"{key}": "2026-12-03T10:00:00Z"}}}}"#);
            assert_eq!(
                holds(&json, &[(key, request)]),
                *expected,
                "{operator} with request {request}"
            );
        }
        assert!(holds(
            r#"{"DateLessThan": {"aws:CurrentTime": "2027-01-01"}}"#,
            &[(key, "2026-12-31T23:59:59Z")]
        ));
        assert!(holds(
            r#"{"DateGreaterThan": {"aws:EpochTime": 1700000000}}"#,
            &[("aws:EpochTime", "1700000000.5")]
        ));
        assert!(holds(
            r#"{"DateLessThan": {"aws:CurrentTime": "2026-12-03T10:00:00"}}"#,
            &[(key, "2026-12-03T09:00:00Z")]
        ));
    }

    #[test]
    fn epoch_seconds_parse_with_fractions_and_signs() {
        assert_eq!(
            parse_epoch("12.25"),
            Some(Timestamp {
                seconds: 12,
                nanos: 250_000_000
            })
        );
        assert_eq!(
            parse_epoch("-1.25"),
            Some(Timestamp {
                seconds: -2,
                nanos: 750_000_000
            })
        );
        assert_eq!(
            parse_epoch("-3"),
            Some(Timestamp {
                seconds: -3,
                nanos: 0
            })
        );
        assert_eq!(parse_epoch("1."), None);
        assert_eq!(parse_epoch(""), None);
        assert_eq!(parse_epoch("99999999999999999999"), None);
    }

    #[test]
    fn bool_operator() {
        let json = r#"{"Bool": {"aws:SecureTransport": "false"}}"#;
        assert!(holds(json, &[("aws:SecureTransport", "false")]));
        assert!(holds(json, &[("aws:SecureTransport", "FALSE")]));
        assert!(!holds(json, &[("aws:SecureTransport", "true")]));
        assert!(!holds(json, &[("aws:SecureTransport", "yes")]));
        assert!(!holds(json, &[]));
        let json = r#"{"Bool": {"aws:SecureTransport": true}}"#;
        assert!(holds(json, &[("aws:SecureTransport", "True")]));
        let json = r#"{"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}"#;
        assert!(holds(json, &[]));
        assert!(!holds(json, &[("aws:MultiFactorAuthPresent", "false")]));
    }

    #[test]
    fn binary_equals() {
        let json = r#"{"BinaryEquals": {"k:blob": "QmluYXJ5VmFsdWU="}}"#;
        assert!(holds(json, &[("k:blob", "QmluYXJ5VmFsdWU=")]));
        assert!(!holds(json, &[("k:blob", "QmluYXJ5VmFsdWF=")]));
        assert!(block_error(r#"{"BinaryEquals": {"k:blob": "not base64!"}}"#).contains("base64"));
    }

    #[test]
    fn ip_address_operators() {
        let json =
            r#"{"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32", "203.0.113.7"]}}"#;
        assert!(holds(json, &[("aws:SourceIp", "192.0.2.55")]));
        assert!(!holds(json, &[("aws:SourceIp", "192.0.3.1")]));
        assert!(holds(json, &[("aws:SourceIp", "2001:db8:1::5")]));
        assert!(!holds(json, &[("aws:SourceIp", "2001:db9::5")]));
        assert!(holds(json, &[("aws:SourceIp", "203.0.113.7")]));
        assert!(!holds(json, &[("aws:SourceIp", "203.0.113.8")]));
        assert!(
            holds(json, &[("aws:SourceIp", "::ffff:192.0.2.9")]),
            "an IPv4-mapped IPv6 address is its IPv4 address"
        );
        assert!(!holds(json, &[("aws:SourceIp", "not-an-ip")]));
        assert!(!holds(json, &[]));
        let not = r#"{"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#;
        assert!(!holds(not, &[("aws:SourceIp", "10.1.2.3")]));
        assert!(holds(not, &[("aws:SourceIp", "11.1.2.3")]));
        assert!(holds(not, &[]));
        let everything = r#"{"IpAddress": {"aws:SourceIp": ["0.0.0.0/0", "::/0"]}}"#;
        assert!(holds(everything, &[("aws:SourceIp", "8.8.8.8")]));
        assert!(holds(everything, &[("aws:SourceIp", "2001::1")]));
        let mapped = r#"{"IpAddress": {"aws:SourceIp": "::ffff:10.0.0.0/104"}}"#;
        assert!(holds(mapped, &[("aws:SourceIp", "10.9.9.9")]));
        assert!(!holds(mapped, &[("aws:SourceIp", "11.9.9.9")]));
        assert!(holds(
            r#"{"IpAddress": {"aws:SourceIp": "10.1.2.3/8"}}"#,
            &[("aws:SourceIp", "10.200.0.1")]
        ));
    }

    #[test]
    fn arn_operators_compare_component_wise() {
        let json = r#"{"ArnLike": {"aws:SourceArn": "arn:aws:s3:::logs-*"}}"#;
        assert!(holds(json, &[("aws:SourceArn", "arn:aws:s3:::logs-2026")]));
        assert!(holds(
            json,
            &[("aws:SourceArn", "arn:aws:s3:::logs-a:with:colons")]
        ));
        assert!(!holds(json, &[("aws:SourceArn", "arn:aws:s3:::data")]));
        assert!(!holds(json, &[("aws:SourceArn", "arn:aws:s3")]));
        let json = r#"{"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::*:user/a?ice"}}"#;
        assert!(holds(
            json,
            &[("aws:PrincipalArn", "arn:aws:iam::123456789012:user/alice")]
        ));
        // A wildcard in one component never swallows a `:` of the next.
        let json = r#"{"ArnLike": {"aws:SourceArn": "arn:*:s3:::b"}}"#;
        assert!(holds(json, &[("aws:SourceArn", "arn:aws:s3:::b")]));
        assert!(!holds(json, &[("aws:SourceArn", "arn:aws:x:s3:::b")]));
        let not = r#"{"ArnNotLike": {"aws:SourceArn": ["arn:aws:s3:::a", "arn:aws:s3:::b*"]}}"#;
        assert!(!holds(not, &[("aws:SourceArn", "arn:aws:s3:::bb")]));
        assert!(holds(not, &[("aws:SourceArn", "arn:aws:s3:::c")]));
        assert!(holds(not, &[]));
        let not = r#"{"ArnNotEquals": {"aws:SourceArn": "arn:aws:s3:::a"}}"#;
        assert!(!holds(not, &[("aws:SourceArn", "arn:aws:s3:::a")]));
        let whole = r#"{"ArnLike": {"aws:SourceArn": "*"}}"#;
        assert!(holds(whole, &[("aws:SourceArn", "arn:aws:s3:::a")]));
    }

    #[test]
    fn arn_values_with_policy_variables_compare_component_wise() {
        let json =
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:iam::${k:account}:user/${aws:username}"}}"#;
        let who = [("k:account", "111122223333"), ("aws:username", "al*")];
        let check = |arn: &str| {
            let mut pairs = who.to_vec();
            pairs.push(("aws:SourceArn", arn));
            holds(json, &pairs)
        };
        assert!(check("arn:aws:iam::111122223333:user/al*"));
        assert!(
            !check("arn:aws:iam::111122223333:user/alice"),
            "values are literal"
        );
        assert!(!check("arn:aws:iam::999999999999:user/al*"));
        assert!(!check("arn:aws:iam:111122223333:user/al*"));
        assert!(!holds(json, &[("aws:SourceArn", "arn:aws:iam::1:user/x")]));
        // A value that resolves to fewer than six parts is matched whole.
        let short = r#"{"ArnLike": {"aws:SourceArn": "${k:prefix}*"}}"#;
        assert!(holds(
            short,
            &[
                ("k:prefix", "arn:aws:s3"),
                ("aws:SourceArn", "arn:aws:s3:::b")
            ]
        ));
        assert!(!holds(
            short,
            &[
                ("k:prefix", "arn:aws:iam"),
                ("aws:SourceArn", "arn:aws:s3:::b")
            ]
        ));
        // Colons substituted into the resource part stay in it.
        let resource = r#"{"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::${k:name}"}}"#;
        assert!(holds(
            resource,
            &[("k:name", "a:b:c"), ("aws:SourceArn", "arn:aws:s3:::a:b:c")]
        ));
        // Wildcards of one component stay in it, with or without variables.
        let json = r#"{"ArnLike": {"aws:SourceArn": "arn:${k:p}:s3:*:*:b"}}"#;
        assert!(holds(
            json,
            &[("k:p", "aws"), ("aws:SourceArn", "arn:aws:s3:r:1:b")]
        ));
        assert!(!holds(
            json,
            &[("k:p", "aws"), ("aws:SourceArn", "arn:aws:s3:r:1:x:b")]
        ));
    }

    #[test]
    fn null_operator() {
        let absent = r#"{"Null": {"aws:TokenIssueTime": "true"}}"#;
        assert!(holds(absent, &[]));
        assert!(!holds(
            absent,
            &[("aws:TokenIssueTime", "2026-01-01T00:00:00Z")]
        ));
        let present = r#"{"Null": {"aws:TokenIssueTime": false}}"#;
        assert!(!holds(present, &[]));
        assert!(holds(present, &[("aws:TokenIssueTime", "x")]));
        assert!(block_error(r#"{"NullIfExists": {"a:b": "true"}}"#).contains("NullIfExists"));
    }

    #[test]
    fn if_exists_passes_absent_keys_only() {
        let json = r#"{"StringEqualsIfExists": {"s3:x-amz-server-side-encryption": "AES256"}}"#;
        assert!(holds(json, &[]));
        assert!(holds(
            json,
            &[("s3:x-amz-server-side-encryption", "AES256")]
        ));
        assert!(!holds(
            json,
            &[("s3:x-amz-server-side-encryption", "aws:kms")]
        ));
        let json = r#"{"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "AES256"}}"#;
        assert!(holds(json, &[]));
        assert!(!holds(
            json,
            &[("s3:x-amz-server-side-encryption", "AES256")]
        ));
        let json = r#"{"NumericLessThanIfExists": {"s3:max-keys": "10"}}"#;
        assert!(holds(json, &[]));
        assert!(!holds(json, &[("s3:max-keys", "20")]));
        let json = r#"{"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}}"#;
        assert!(holds(json, &[]));
        assert!(!holds(json, &[("aws:SourceIp", "11.0.0.1")]));
    }

    #[test]
    fn single_valued_operators_on_multi_valued_keys_match_any_value() {
        let json = r#"{"StringEquals": {"aws:TagKeys": "team"}}"#;
        assert!(holds(
            json,
            &[("aws:TagKeys", "cost"), ("aws:TagKeys", "team")]
        ));
        let json = r#"{"StringNotEquals": {"aws:TagKeys": "team"}}"#;
        assert!(!holds(
            json,
            &[("aws:TagKeys", "cost"), ("aws:TagKeys", "team")]
        ));
        assert!(holds(
            json,
            &[("aws:TagKeys", "cost"), ("aws:TagKeys", "env")]
        ));
    }

    #[test]
    fn for_any_value() {
        let json = r#"{"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "env"]}}"#;
        assert!(holds(
            json,
            &[("aws:TagKeys", "cost"), ("aws:TagKeys", "env")]
        ));
        assert!(!holds(json, &[("aws:TagKeys", "cost")]));
        assert!(!holds(json, &[]), "ForAnyValue is false for an absent key");
        let json = r#"{"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["team", "env"]}}"#;
        assert!(holds(
            json,
            &[("aws:TagKeys", "team"), ("aws:TagKeys", "cost")]
        ));
        assert!(!holds(
            json,
            &[("aws:TagKeys", "team"), ("aws:TagKeys", "env")]
        ));
        assert!(!holds(json, &[]));
        let json = r#"{"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": "t*"}}"#;
        assert!(holds(json, &[]));
        assert!(holds(json, &[("aws:TagKeys", "team")]));
        assert!(!holds(json, &[("aws:TagKeys", "env")]));
    }

    #[test]
    fn for_all_values() {
        let json = r#"{"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}}"#;
        assert!(holds(
            json,
            &[("aws:TagKeys", "team"), ("aws:TagKeys", "env")]
        ));
        assert!(!holds(
            json,
            &[("aws:TagKeys", "team"), ("aws:TagKeys", "cost")]
        ));
        assert!(holds(json, &[]), "ForAllValues is true for an absent key");
        let json = r#"{"ForAllValues:StringNotLike": {"aws:TagKeys": ["secret*"]}}"#;
        assert!(holds(
            json,
            &[("aws:TagKeys", "team"), ("aws:TagKeys", "env")]
        ));
        assert!(!holds(
            json,
            &[("aws:TagKeys", "team"), ("aws:TagKeys", "secret-x")]
        ));
        let json = r#"{"ForAllValues:NumericLessThan": {"k:sizes": 10}}"#;
        assert!(holds(json, &[("k:sizes", "1"), ("k:sizes", "9")]));
        assert!(!holds(json, &[("k:sizes", "1"), ("k:sizes", "10")]));
    }

    #[test]
    fn all_operators_and_keys_must_hold() {
        let json = r#"{
            "StringEquals": {"aws:username": "alice", "s3:prefix": "home/"},
            "Bool": {"aws:SecureTransport": "true"}
        }"#;
        let all = [
            ("aws:username", "alice"),
            ("s3:prefix", "home/"),
            ("aws:SecureTransport", "true"),
        ];
        assert!(holds(json, &all));
        for skip in 0..all.len() {
            let partial: Vec<_> = all
                .iter()
                .enumerate()
                .filter(|(index, _)| *index != skip)
                .map(|(_, pair)| *pair)
                .collect();
            assert!(!holds(json, &partial), "without {:?}", all[skip]);
        }
        assert!(holds("{}", &[]));
    }

    #[test]
    fn policy_variables_are_substituted_in_string_values() {
        let json = r#"{"StringLike": {"s3:prefix": ["${aws:username}/*", "shared/${*}"]}}"#;
        let alice = [("aws:username", "alice")];
        assert!(holds(json, &[alice[0], ("s3:prefix", "alice/docs")]));
        assert!(!holds(json, &[alice[0], ("s3:prefix", "bob/docs")]));
        assert!(holds(json, &[alice[0], ("s3:prefix", "shared/*")]));
        assert!(
            !holds(json, &[alice[0], ("s3:prefix", "shared/x")]),
            "${{*}} is a literal star"
        );
        assert!(
            !holds(json, &[("s3:prefix", "alice/docs")]),
            "an absent variable matches nothing"
        );
        // A substituted value is literal text, never a wildcard.
        assert!(!holds(
            json,
            &[("aws:username", "*"), ("s3:prefix", "bob/x")]
        ));
        assert!(holds(json, &[("aws:username", "*"), ("s3:prefix", "*/x")]));
        let json = r#"{"StringEquals": {"k:owner": "${aws:username}"}}"#;
        assert!(holds(
            json,
            &[("aws:username", "alice"), ("k:owner", "alice")]
        ));
        assert!(!holds(
            json,
            &[("aws:username", "alice"), ("k:owner", "bob")]
        ));
        let json = r#"{"StringEqualsIgnoreCase": {"k:owner": "${aws:username}"}}"#;
        assert!(holds(
            json,
            &[("aws:username", "Alice"), ("k:owner", "ALICE")]
        ));
        let json = r#"{"ArnLike": {"aws:SourceArn": "arn:aws:s3:::${aws:username}-*"}}"#;
        assert!(holds(
            json,
            &[
                ("aws:username", "al"),
                ("aws:SourceArn", "arn:aws:s3:::al-x")
            ]
        ));
        assert!(!holds(
            json,
            &[
                ("aws:username", "al"),
                ("aws:SourceArn", "arn:aws:s3:::bo-x")
            ]
        ));
    }

    #[test]
    fn policy_variable_defaults_and_malformed_variables() {
        let json = r#"{"StringEquals": {"k:team": "${aws:PrincipalTag/team, 'it''s ops'}"}}"#;
        assert!(holds(json, &[("k:team", "it's ops")]));
        assert!(holds(
            json,
            &[("aws:PrincipalTag/team", "dev"), ("k:team", "dev")]
        ));
        // Text that is not a well-formed variable stands for itself.
        let json = r#"{"StringEquals": {"k:v": "a${b"}}"#;
        assert!(holds(json, &[("k:v", "a${b")]));
        let json = r#"{"StringEquals": {"k:v": "${}"}}"#;
        assert!(holds(json, &[("k:v", "${}")]));
        let json = r#"{"StringEquals": {"k:v": "${$}{x}"}}"#;
        assert!(holds(json, &[("k:v", "${x}")]));
    }

    #[test]
    fn variables_are_literal_in_old_policy_versions() {
        let value: Json =
            serde_json::from_str(r#"{"StringEquals": {"k:v": "${aws:username}"}}"#).expect("json");
        let block = ConditionBlock::parse(&value, Variables::Literal).expect("parses");
        assert!(block.holds(&context(&[
            ("aws:username", "a"),
            ("k:v", "${aws:username}")
        ])));
        assert!(!block.holds(&context(&[("aws:username", "a"), ("k:v", "a")])));
    }

    #[test]
    fn malformed_conditions_are_refused_with_a_reason() {
        assert!(
            block_error(r#"{"StringEqualz": {"a:b": "c"}}"#)
                .contains("Invalid Condition operator: StringEqualz")
        );
        assert!(
            block_error(r#"{"ForSomeValues:StringEquals": {"a:b": "c"}}"#)
                .contains("Invalid Condition operator")
        );
        assert!(
            block_error(r#"{"StringEquals": {"nokey": "c"}}"#)
                .contains("Policy has an invalid condition key")
        );
        assert!(block_error(r#"{"StringEquals": {":x": "c"}}"#).contains("invalid condition key"));
        assert!(block_error(r#"{"NumericEquals": {"a:b": "ten"}}"#).contains("\"ten\""));
        assert!(block_error(r#"{"NumericEquals": {"a:b": "1e999"}}"#).contains("number"));
        assert!(block_error(r#"{"DateLessThan": {"a:b": "next tuesday"}}"#).contains("date"));
        assert!(block_error(r#"{"DateLessThan": {"a:b": "2026-13-01"}}"#).contains("date"));
        assert!(block_error(r#"{"IpAddress": {"a:b": "10.0.0.0/33"}}"#).contains("CIDR"));
        assert!(block_error(r#"{"IpAddress": {"a:b": "10.0.0/8"}}"#).contains("CIDR"));
        assert!(block_error(r#"{"IpAddress": {"a:b": "::/129"}}"#).contains("CIDR"));
        assert!(block_error(r#"{"Bool": {"a:b": "yes"}}"#).contains("true or false"));
        assert!(block_error(r#"{"StringEquals": {"a:b": []}}"#).contains("non-empty"));
        assert!(block_error(r#"{"StringEquals": {"a:b": null}}"#).contains("values must be"));
        assert!(block_error(r#"{"StringEquals": {"a:b": [["x"]]}}"#).contains("values must be"));
        assert!(block_error(r#"{"StringEquals": "a:b"}"#).contains("must map condition keys"));
        assert!(block_error(r#"["StringEquals"]"#).contains("Condition must be an object"));
    }

    #[test]
    fn number_syntax() {
        for good in ["0", "-1", "+2", "3.5", ".5", "5.", "1e3", "1E-3", "-2.5e+2"] {
            assert!(parse_number(good).is_some(), "{good}");
        }
        for bad in [
            "", "-", ".", "e3", "1e", "inf", "NaN", "0x10", "1,000", " 1", "1e400",
        ] {
            assert!(parse_number(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn callers_named_by_fixed_values_narrow_a_grant() {
        let narrows = |json: &str| block(json).names_known_callers();
        assert!(narrows(
            r#"{"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}"#
        ));
        assert!(!narrows(r#"{"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#));
        assert!(!narrows(
            r#"{"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}"#
        ));
        assert!(narrows(
            r#"{"StringEquals": {"aws:SourceAccount": "111122223333"}}"#
        ));
        assert!(!narrows(r#"{"StringLike": {"aws:SourceAccount": "*"}}"#));
        assert!(narrows(
            r#"{"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::logs"}}"#
        ));
        assert!(!narrows(
            r#"{"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-1"}}"#
        ));
        assert!(narrows(
            r#"{"StringEquals": {"aws:PrincipalOrgID": "o-1"}}"#
        ));
        assert!(!narrows(
            r#"{"ForAllValues:StringEquals": {"aws:userid": "x"}}"#
        ));
        assert!(!narrows(r#"{"Null": {"aws:SourceVpce": "false"}}"#));
        assert!(!narrows(r#"{"StringEquals": {"s3:prefix": "x"}}"#));
        assert!(narrows(r#"{"StringEquals": {"aws:sourcevpce": "vpce-1"}}"#));
    }
}
