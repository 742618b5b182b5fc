//! Arithmetic questions: finding an expression in text, evaluating it, and
//! producing plausible wrong answers.

use std::fmt;

use crate::hash::Draw;

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl Op {
    /// The operator symbol.
    pub fn symbol(self) -> char {
        match self {
            Op::Add => '+',
            Op::Sub => '-',
            Op::Mul => '*',
            Op::Div => '/',
        }
    }

    /// Applies the operator; `None` on division by zero.
    pub fn apply(self, a: f64, b: f64) -> Option<f64> {
        match self {
            Op::Add => Some(a + b),
            Op::Sub => Some(a - b),
            Op::Mul => Some(a * b),
            Op::Div => (b != 0.0).then(|| a / b),
        }
    }

    fn precedence(self) -> u8 {
        match self {
            Op::Add | Op::Sub => 1,
            Op::Mul | Op::Div => 2,
        }
    }
}

/// An arithmetic expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Num(f64),
    /// Unary minus.
    Neg(Box<Expr>),
    /// A binary operation.
    Bin(Op, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// The value; `None` on division by zero.
    pub fn eval(&self) -> Option<f64> {
        match self {
            Expr::Num(x) => Some(*x),
            Expr::Neg(e) => e.eval().map(|x| -x),
            Expr::Bin(op, a, b) => op.apply(a.eval()?, b.eval()?),
        }
    }

    /// Number of binary operations.
    pub fn op_count(&self) -> usize {
        match self {
            Expr::Num(_) => 0,
            Expr::Neg(e) => e.op_count(),
            Expr::Bin(_, a, b) => 1 + a.op_count() + b.op_count(),
        }
    }

    fn fmt_prec(&self, f: &mut fmt::Formatter<'_>, parent: u8, right: bool) -> fmt::Result {
        match self {
            Expr::Num(x) => write!(f, "{}", format_number(*x)),
            Expr::Neg(e) => {
                write!(f, "-")?;
                e.fmt_prec(f, 3, false)
            }
            Expr::Bin(op, a, b) => {
                let p = op.precedence();
                let paren = p < parent || (right && p == parent);
                if paren {
                    write!(f, "(")?;
                }
                a.fmt_prec(f, p, false)?;
                write!(f, " {} ", op.symbol())?;
                b.fmt_prec(f, p, true)?;
                if paren {
                    write!(f, ")")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_prec(f, 0, false)
    }
}

/// Formats a number the way an answer would be written: integers without a
/// decimal point, other values with at most six decimals.
pub fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// Parses a number written in an answer (`42`, `42.0`, `-3`, `1,000`, `The answer is 42.`).
pub fn parse_answer(text: &str) -> Option<f64> {
    let cleaned: String = text.replace(',', "");
    let t = cleaned.trim().trim_end_matches('.');
    if let Ok(x) = t.parse::<f64>() {
        return Some(x);
    }
    // The last number in the text.
    let tokens = tokenize(&cleaned.to_lowercase());
    tokens.iter().rev().find_map(|t| match t {
        Tok::Num(x) => Some(*x),
        _ => None,
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Op(Op),
    Open,
    Close,
    Other,
}

fn normalize(text: &str) -> String {
    let mut t = format!(" {} ", text.to_lowercase());
    for (from, to) in [
        ("multiplied by", "*"),
        ("divided by", "/"),
        (" times ", " * "),
        (" plus ", " + "),
        (" minus ", " - "),
        (" over ", " / "),
        ("×", "*"),
        ("÷", "/"),
        ("−", "-"),
    ] {
        t = t.replace(from, to);
    }
    t
}

fn tokenize(t: &str) -> Vec<Tok> {
    let chars: Vec<char> = t.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            let s = s.trim_end_matches('.');
            out.push(s.parse().map(Tok::Num).unwrap_or(Tok::Other));
            // A trailing period ends a sentence, not a number.
            continue;
        }
        let tok = match c {
            '+' => Tok::Op(Op::Add),
            '-' => Tok::Op(Op::Sub),
            '*' => Tok::Op(Op::Mul),
            '/' => Tok::Op(Op::Div),
            'x' if prev_is_num(&out)
                && chars.get(i + 1) == Some(&' ')
                && chars.get(i.wrapping_sub(1)) == Some(&' ') =>
            {
                Tok::Op(Op::Mul)
            }
            '(' => Tok::Open,
            ')' => Tok::Close,
            ' ' | '\t' => {
                i += 1;
                continue;
            }
            _ => {
                // Skip the rest of a word so "step-by-step" is one Other.
                while i + 1 < chars.len()
                    && chars[i + 1].is_alphanumeric()
                    && !chars[i + 1].is_ascii_digit()
                {
                    i += 1;
                }
                Tok::Other
            }
        };
        out.push(tok);
        i += 1;
    }
    out
}

fn prev_is_num(out: &[Tok]) -> bool {
    matches!(out.last(), Some(Tok::Num(_)))
}

struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn expr(&mut self, min_prec: u8, depth: usize) -> Option<Expr> {
        if depth > 64 {
            return None;
        }
        let mut lhs = self.atom(depth)?;
        while let Some(Tok::Op(op)) = self.peek() {
            let op = *op;
            if op.precedence() < min_prec {
                break;
            }
            self.pos += 1;
            let rhs = self.expr(op.precedence() + 1, depth + 1)?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
        Some(lhs)
    }

    fn atom(&mut self, depth: usize) -> Option<Expr> {
        if depth > 64 {
            return None;
        }
        match self.peek()? {
            Tok::Num(x) => {
                let x = *x;
                self.pos += 1;
                Some(Expr::Num(x))
            }
            Tok::Op(Op::Sub) => {
                self.pos += 1;
                Some(Expr::Neg(Box::new(self.atom(depth + 1)?)))
            }
            Tok::Open => {
                self.pos += 1;
                let e = self.expr(1, depth + 1)?;
                if self.peek() == Some(&Tok::Close) {
                    self.pos += 1;
                    Some(e)
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

const MAX_RUN: usize = 128;

/// Finds the longest arithmetic expression with at least one binary operator in `text`.
pub fn find_expression(text: &str) -> Option<Expr> {
    let toks = tokenize(&normalize(text));
    let mut best: Option<(usize, Expr)> = None;
    let mut start = 0;
    while start < toks.len() {
        if matches!(toks[start], Tok::Other) {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < toks.len() && !matches!(toks[end], Tok::Other) {
            end += 1;
        }
        // Questions are short; a cap keeps hostile inputs linear.
        let run = &toks[start..end.min(start + MAX_RUN)];
        for s in 0..run.len() {
            let mut p = Parser {
                toks: &run[s..],
                pos: 0,
            };
            if let Some(e) = p.expr(1, 0)
                && e.op_count() > 0
                && e.eval().is_some()
                && best.as_ref().is_none_or(|(len, _)| p.pos > *len)
            {
                best = Some((p.pos, e));
            }
        }
        start = end;
    }
    best.map(|(_, e)| e)
}

/// The value of the arithmetic question in `text`, if it has one.
pub fn solve(text: &str) -> Option<f64> {
    find_expression(text)?.eval()
}

/// A plausible wrong answer near `truth`.
pub fn wrong_answer(truth: f64, draw: &mut Draw) -> f64 {
    let integral = truth.fract() == 0.0;
    let magnitude = truth.abs().max(1.0);
    for _ in 0..8 {
        let candidate = match draw.below(4) {
            0 => truth + draw.range_i64(1, 3) as f64,
            1 => truth - draw.range_i64(1, 3) as f64,
            2 => truth + if draw.chance(0.5) { 10.0 } else { -10.0 },
            _ => (truth
                + (magnitude * 0.1).round().max(1.0) * if draw.chance(0.5) { 1.0 } else { -1.0 })
            .round(),
        };
        let candidate = if integral {
            candidate.round()
        } else {
            (candidate * 100.0).round() / 100.0
        };
        if (candidate - truth).abs() > 1e-9 {
            return candidate;
        }
    }
    truth + 1.0
}

/// Whether two answers agree (to 1e-6 relative).
pub fn same_value(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_expressions_in_questions() {
        assert_eq!(solve("What is 17 + 25?"), Some(42.0));
        assert_eq!(solve("Compute 3 * 14 - 5"), Some(37.0));
        assert_eq!(solve("Calculate (2 + 3) * 4."), Some(20.0));
        assert_eq!(solve("What is 12 times 7?"), Some(84.0));
        assert_eq!(solve("What is 100 divided by 8?"), Some(12.5));
        assert_eq!(solve("What is 9 minus 12?"), Some(-3.0));
        assert_eq!(solve("Think step-by-step about 6 x 7"), Some(42.0));
        assert_eq!(solve("What is the capital of France?"), None);
        assert_eq!(solve("Order 3 items"), None);
        assert_eq!(solve("What is 5 / 0?"), None);
    }

    #[test]
    fn display_round_trips() {
        let e = find_expression("(2 + 3) * (4 - 1) - 6 / 2").expect("parses");
        assert_eq!(e.to_string(), "(2 + 3) * (4 - 1) - 6 / 2");
        assert_eq!(e.eval(), Some(12.0));
        let e = find_expression("10 - (4 - 1)").expect("parses");
        assert_eq!(e.to_string(), "10 - (4 - 1)");
    }

    #[test]
    fn answers_parse_and_wrong_answers_differ() {
        assert_eq!(parse_answer("42"), Some(42.0));
        assert_eq!(parse_answer("1,024."), Some(1024.0));
        assert_eq!(parse_answer("The answer is 7."), Some(7.0));
        let mut d = Draw::new(3);
        for t in [0.0, 1.0, 42.0, -5.0, 2.5] {
            let w = wrong_answer(t, &mut d);
            assert!(!same_value(w, t));
        }
        assert_eq!(format_number(12.5), "12.5");
        assert_eq!(format_number(-3.0), "-3");
    }
}
