//! Wildcard subscriptions by token, as NATS keeps them (its "sublist"): a
//! trie whose levels are a pattern's tokens, `*` and `>` among them, so a
//! publish visits only the branches its own tokens lead to. A publish costs
//! the same with a thousand unrelated wildcard subscriptions as with none.

use rustc_hash::FxHashMap;

#[cfg(test)]
mod tests;

/// Values stored by wildcard pattern (`a.*.c`, `a.>`).
pub(crate) struct Sublist<T> {
    root: Node<T>,
    len: usize,
}

struct Node<T> {
    /// Children by literal token.
    literal: FxHashMap<Box<str>, Node<T>>,
    /// The child for `*`.
    star: Option<Box<Node<T>>>,
    /// Patterns ending at this node.
    here: Vec<T>,
    /// Patterns ending here with `>`: one or more further tokens.
    rest: Vec<T>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Node {
            literal: FxHashMap::default(),
            star: None,
            here: Vec::new(),
            rest: Vec::new(),
        }
    }
}

impl<T> Default for Sublist<T> {
    fn default() -> Self {
        Sublist {
            root: Node::default(),
            len: 0,
        }
    }
}

impl<T> Node<T> {
    fn is_empty(&self) -> bool {
        self.here.is_empty()
            && self.rest.is_empty()
            && self.literal.is_empty()
            && self.star.is_none()
    }

    /// Calls `f` with every value whose pattern matches `tokens`.
    fn visit<'a>(&'a self, tokens: &[&str], f: &mut impl FnMut(&'a T)) {
        let Some((first, more)) = tokens.split_first() else {
            self.here.iter().for_each(&mut *f);
            return;
        };
        // `>` takes this token and all after it.
        self.rest.iter().for_each(&mut *f);
        if let Some(child) = self.literal.get(*first) {
            child.visit(more, f);
        }
        if let Some(star) = &self.star {
            star.visit(more, f);
        }
    }

    fn any(&self, tokens: &[&str]) -> bool {
        let Some((first, more)) = tokens.split_first() else {
            return !self.here.is_empty();
        };
        !self.rest.is_empty()
            || self.literal.get(*first).is_some_and(|c| c.any(more))
            || self.star.as_ref().is_some_and(|c| c.any(more))
    }

    /// Removes the values `gone` picks below `tokens`; returns how many,
    /// pruning branches left empty.
    fn remove(&mut self, tokens: &[&str], gone: &impl Fn(&T) -> bool) -> usize {
        let count = |list: &mut Vec<T>| {
            let before = list.len();
            list.retain(|v| !gone(v));
            before - list.len()
        };
        match tokens {
            [] => count(&mut self.here),
            [">"] => count(&mut self.rest),
            ["*", more @ ..] => {
                let Some(star) = &mut self.star else { return 0 };
                let removed = star.remove(more, gone);
                if star.is_empty() {
                    self.star = None;
                }
                removed
            }
            [first, more @ ..] => {
                let Some(child) = self.literal.get_mut(*first) else {
                    return 0;
                };
                let removed = child.remove(more, gone);
                if child.is_empty() {
                    self.literal.remove(*first);
                }
                removed
            }
        }
    }

    fn retain(&mut self, keep: &impl Fn(&T) -> bool) -> usize {
        let before = self.here.len() + self.rest.len();
        self.here.retain(keep);
        self.rest.retain(keep);
        let mut removed = before - self.here.len() - self.rest.len();
        self.literal.retain(|_, child| {
            removed += child.retain(keep);
            !child.is_empty()
        });
        if let Some(star) = &mut self.star {
            removed += star.retain(keep);
            if star.is_empty() {
                self.star = None;
            }
        }
        removed
    }

    fn all<'a>(&'a self, out: &mut Vec<&'a T>) {
        out.extend(&self.here);
        out.extend(&self.rest);
        for child in self.literal.values() {
            child.all(out);
        }
        if let Some(star) = &self.star {
            star.all(out);
        }
    }
}

impl<T> Sublist<T> {
    /// Stores `value` under `pattern` (valid, with a wildcard).
    pub(crate) fn insert(&mut self, pattern: &str, value: T) {
        let mut node = &mut self.root;
        let mut tokens = pattern.split('.').peekable();
        while let Some(token) = tokens.next() {
            if token == ">" && tokens.peek().is_none() {
                node.rest.push(value);
                self.len += 1;
                return;
            }
            node = if token == "*" {
                node.star.get_or_insert_with(Box::default)
            } else {
                node.literal.entry(token.into()).or_default()
            };
        }
        node.here.push(value);
        self.len += 1;
    }

    /// Calls `f` with every value whose pattern matches `subject`.
    pub(crate) fn matches<'a>(&'a self, subject: &str, mut f: impl FnMut(&'a T)) {
        if self.len == 0 {
            return;
        }
        let mut buffer: [&str; 16] = [""; 16];
        let count = subject.split('.').count();
        if count <= buffer.len() {
            for (slot, token) in buffer.iter_mut().zip(subject.split('.')) {
                *slot = token;
            }
            self.root.visit(&buffer[..count], &mut f);
        } else {
            let tokens: Vec<&str> = subject.split('.').collect();
            self.root.visit(&tokens, &mut f);
        }
    }

    /// Whether any pattern matches `subject`.
    pub(crate) fn any_match(&self, subject: &str) -> bool {
        if self.len == 0 {
            return false;
        }
        let tokens: Vec<&str> = subject.split('.').collect();
        self.root.any(&tokens)
    }

    /// Removes the values under `pattern` for which `gone` holds; whether
    /// there were any.
    pub(crate) fn remove(&mut self, pattern: &str, gone: impl Fn(&T) -> bool) -> bool {
        let tokens: Vec<&str> = pattern.split('.').collect();
        let removed = self.root.remove(&tokens, &gone);
        self.len -= removed;
        removed > 0
    }

    /// Keeps only the values `keep` picks, anywhere.
    pub(crate) fn retain(&mut self, keep: impl Fn(&T) -> bool) {
        self.len -= self.root.retain(&keep);
    }

    /// Whether it holds nothing (every emptied branch is pruned).
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0 && self.root.is_empty()
    }

    /// Every value, in no particular order.
    pub(crate) fn all(&self) -> Vec<&T> {
        let mut out = Vec::with_capacity(self.len);
        self.root.all(&mut out);
        out
    }
}
