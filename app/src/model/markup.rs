//! Message text as it is shown: a small markdown subset (bold, italic, inline code, fenced code
//! blocks, quotes) read by pulldown-cmark, and web addresses turned into links. The result is a
//! tree of `Node`s that the view turns into elements it names itself; nothing here produces
//! HTML text, so no user text is ever parsed by the browser as markup. Raw HTML, images,
//! headings, lists and any link that is not `http(s)` are shown as the characters typed. Line
//! breaks are kept as typed (a chat message is not a document).

use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag};

/// One piece of a rendered message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// Plain characters (a line break is a `"\n"` inside one).
    Text(String),
    Strong(Vec<Node>),
    Emphasis(Vec<Node>),
    Code(String),
    /// An `http`/`https` link; the only kind ever produced.
    Link {
        href: String,
        children: Vec<Node>,
    },
    Paragraph(Vec<Node>),
    Quote(Vec<Node>),
    CodeBlock(String),
}

/// The elements being built, innermost last.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Frame {
    Root,
    Paragraph,
    Quote,
    Strong,
    Emphasis,
    Link(String),
    CodeBlock,
}

impl Frame {
    /// Whether paragraphs (rather than inline text) go directly inside.
    fn holds_blocks(&self) -> bool {
        matches!(self, Self::Root | Self::Quote)
    }
}

struct Builder<'a> {
    source: &'a str,
    stack: Vec<(Frame, Vec<Node>)>,
    /// Consecutive text not yet added (the parser splits text at brackets, escapes…; an
    /// address must be found in the whole run).
    text: String,
    /// The nesting depth of an element shown as typed, whose events are passed over.
    skipping: usize,
}

impl<'a> Builder<'a> {
    fn new(source: &'a str) -> Self {
        Self {
            source,
            stack: vec![(Frame::Root, Vec::new())],
            text: String::new(),
            skipping: 0,
        }
    }

    fn top(&self) -> &Frame {
        self.stack.last().map_or(&Frame::Root, |(frame, _)| frame)
    }

    fn push_node(&mut self, node: Node) {
        if let Some((_, children)) = self.stack.last_mut() {
            children.push(node);
        }
    }

    /// Adds the pending text to the current element: in a code block or a link as it is, else
    /// with its web addresses made links.
    fn flush(&mut self) {
        if self.text.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.text);
        match self.top() {
            Frame::CodeBlock => self.text = text,
            Frame::Link(_) => self.push_node(Node::Text(text)),
            Frame::Root | Frame::Quote => {
                let nodes = linkify(&text);
                self.push_node(Node::Paragraph(nodes));
            }
            Frame::Paragraph | Frame::Strong | Frame::Emphasis => {
                for node in linkify(&text) {
                    self.push_node(node);
                }
            }
        }
    }

    fn open(&mut self, frame: Frame) {
        self.flush();
        self.stack.push((frame, Vec::new()));
    }

    fn close(&mut self) {
        if self.top() == &Frame::CodeBlock {
            let code = std::mem::take(&mut self.text);
            self.stack.pop();
            self.push_node(Node::CodeBlock(code.trim_end_matches('\n').to_owned()));
            return;
        }
        self.flush();
        if self.stack.len() < 2 {
            return;
        }
        let Some((frame, children)) = self.stack.pop() else {
            return;
        };
        let node = match frame {
            Frame::Paragraph => Node::Paragraph(children),
            Frame::Quote => Node::Quote(children),
            Frame::Strong => Node::Strong(children),
            Frame::Emphasis => Node::Emphasis(children),
            Frame::Link(href) => Node::Link { href, children },
            Frame::Root | Frame::CodeBlock => return,
        };
        self.push_node(node);
    }

    /// Shows the characters of `range` as typed: a paragraph of their own at block level,
    /// else text in the line.
    fn literal(&mut self, range: Range<usize>) {
        let typed = self.source.get(range).unwrap_or_default();
        let typed = typed.trim_end_matches('\n');
        if self.top().holds_blocks() {
            self.flush();
            self.push_node(Node::Paragraph(linkify(typed)));
        } else {
            self.text.push_str(typed);
        }
    }

    fn event(&mut self, event: Event<'_>, range: Range<usize>) {
        if self.skipping > 0 {
            match event {
                Event::Start(_) => self.skipping += 1,
                Event::End(_) => self.skipping -= 1,
                _ => {}
            }
            return;
        }
        match event {
            Event::Start(tag) => match tag {
                Tag::Paragraph => self.open(Frame::Paragraph),
                Tag::BlockQuote(_) => self.open(Frame::Quote),
                Tag::CodeBlock(CodeBlockKind::Fenced(_)) => self.open(Frame::CodeBlock),
                Tag::Strong => self.open(Frame::Strong),
                Tag::Emphasis => self.open(Frame::Emphasis),
                Tag::Link { dest_url, .. } if is_web_address(&dest_url) => {
                    self.open(Frame::Link(dest_url.into_string()));
                }
                // Not in the subset (headings, lists, raw HTML blocks, images, other links…):
                // shown as typed.
                _ => {
                    self.literal(range);
                    self.skipping = 1;
                }
            },
            Event::End(_) => self.close(),
            Event::Text(text) => self.text.push_str(&text),
            Event::Code(code) => {
                self.flush();
                self.push_node(Node::Code(code.into_string()));
            }
            Event::SoftBreak | Event::HardBreak => self.text.push('\n'),
            // Raw HTML is text like any other; everything else is shown as typed.
            _ => self.literal(range),
        }
    }

    fn finish(mut self) -> Vec<Node> {
        while self.stack.len() > 1 {
            self.close();
        }
        self.flush();
        self.stack.pop().map(|(_, nodes)| nodes).unwrap_or_default()
    }
}

/// The message `text` as nodes to show. A text that the subset would show as nothing (a lone
/// link definition, say) is shown as typed.
pub fn render(text: &str) -> Vec<Node> {
    let mut builder = Builder::new(text);
    for (event, range) in Parser::new_ext(text, Options::empty()).into_offset_iter() {
        builder.event(event, range);
    }
    let nodes = builder.finish();
    if nodes.is_empty() && !text.trim().is_empty() {
        vec![Node::Paragraph(linkify(text))]
    } else {
        nodes
    }
}

/// The characters a reader sees of a message, without its markup: for one-line previews (the
/// conversation list, notifications). Blocks are separated by a line break.
pub fn plain(text: &str) -> String {
    fn walk(nodes: &[Node], out: &mut String) {
        for node in nodes {
            match node {
                Node::Text(t) | Node::Code(t) => out.push_str(t),
                Node::CodeBlock(t) => out.push_str(t),
                Node::Link { children: c, .. } | Node::Strong(c) | Node::Emphasis(c) => {
                    walk(c, out);
                }
                Node::Paragraph(c) | Node::Quote(c) => walk(c, out),
            }
            if matches!(
                node,
                Node::CodeBlock(_) | Node::Paragraph(_) | Node::Quote(_)
            ) && !out.ends_with('\n')
            {
                out.push('\n');
            }
        }
    }
    let mut out = String::new();
    walk(&render(text), &mut out);
    out.trim_end().to_owned()
}

/// Whether `href` may become a link: only web addresses, never `javascript:`, `data:`….
fn is_web_address(href: &str) -> bool {
    let lower = href.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && lower.len() > lower.find("//").unwrap_or(0) + 2
}

/// Text with each web address in it (`http://…`, `https://…`, `www.…`) made a link. An address
/// ends at a space or at a character that cannot be in one; trailing punctuation (".", ",",
/// an unbalanced ")") stays outside, as a reader would expect.
pub fn linkify(text: &str) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut rest = text;
    while let Some(start) = find_address(rest) {
        let candidate = &rest[start..];
        let end = candidate
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`'))
            .unwrap_or(candidate.len());
        let address = trim_trailing(&candidate[..end]);
        let href = if address.to_ascii_lowercase().starts_with("www.") {
            format!("https://{address}")
        } else {
            address.to_owned()
        };
        if !is_web_address(&href) || address.len() <= "www.".len() {
            // Not an address after all: keep the text up to past the match.
            let skip = start + candidate.chars().next().map_or(1, char::len_utf8);
            push_text(&mut nodes, &rest[..skip]);
            rest = &rest[skip..];
            continue;
        }
        push_text(&mut nodes, &rest[..start]);
        nodes.push(Node::Link {
            href,
            children: vec![Node::Text(address.to_owned())],
        });
        rest = &rest[start + address.len()..];
    }
    push_text(&mut nodes, rest);
    nodes
}

/// Where the next address starts: `http://`, `https://` or `www.` at the start of a word.
fn find_address(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while from < lower.len() {
        let hit = ["https://", "http://", "www."]
            .iter()
            .filter_map(|prefix| lower[from..].find(prefix).map(|at| from + at))
            .min()?;
        let at_word_start = lower[..hit]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric() && c != '/' && c != '.' && c != '@');
        if at_word_start {
            return Some(hit);
        }
        from = hit + 1;
        while !lower.is_char_boundary(from) {
            from += 1;
        }
    }
    None
}

/// Drops the punctuation that ends a sentence rather than the address.
fn trim_trailing(address: &str) -> &str {
    let mut end = address;
    loop {
        let Some(last) = end.chars().next_back() else {
            return end;
        };
        let unbalanced_close = last == ')' && end.matches('(').count() < end.matches(')').count();
        if matches!(
            last,
            '.' | ',' | ':' | ';' | '!' | '?' | '\'' | ']' | '}' | '*' | '_'
        ) || unbalanced_close
        {
            end = &end[..end.len() - last.len_utf8()];
        } else {
            return end;
        }
    }
}

fn push_text(nodes: &mut Vec<Node>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Node::Text(previous)) = nodes.last_mut() {
        previous.push_str(text);
    } else {
        nodes.push(Node::Text(text.to_owned()));
    }
}

/// Whether a message is only emoji (at most `MAX_BIG_EMOJI` of them): shown larger.
pub fn is_emoji_only(text: &str) -> bool {
    /// More than this many reads as a line of text again.
    const MAX_BIG_EMOJI: usize = 5;
    let mut pictures = 0;
    for c in text.trim().chars() {
        match c {
            // Joiners, variation selectors, keycaps, skin tones and tag characters belong to
            // the picture before them.
            '\u{200D}' | '\u{FE0E}' | '\u{FE0F}' | '\u{20E3}' | '\u{1F3FB}'..='\u{1F3FF}' => {}
            '\u{E0020}'..='\u{E007F}' => {}
            c if c.is_whitespace() => {}
            c if is_pictograph(c) => pictures += 1,
            _ => return false,
        }
    }
    (1..=MAX_BIG_EMOJI).contains(&pictures)
}

fn is_pictograph(c: char) -> bool {
    matches!(c,
        '\u{1F000}'..='\u{1FAFF}'
        | '\u{2600}'..='\u{27BF}'
        | '\u{2B00}'..='\u{2BFF}'
        | '\u{2190}'..='\u{21FF}'
        | '\u{2300}'..='\u{23FF}'
        | '\u{25A0}'..='\u{25FF}'
        | '\u{2934}' | '\u{2935}' | '\u{3030}' | '\u{303D}' | '\u{3297}' | '\u{3299}'
        | '\u{00A9}' | '\u{00AE}' | '\u{203C}' | '\u{2049}' | '\u{2122}' | '\u{2139}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Node {
        Node::Text(s.to_owned())
    }

    fn para(nodes: Vec<Node>) -> Node {
        Node::Paragraph(nodes)
    }

    fn link(href: &str, shown: &str) -> Node {
        Node::Link {
            href: href.to_owned(),
            children: vec![text(shown)],
        }
    }

    /// Every link in the tree, however deep.
    fn links(nodes: &[Node]) -> Vec<String> {
        let mut found = Vec::new();
        for node in nodes {
            match node {
                Node::Link { href, children } => {
                    found.push(href.clone());
                    found.extend(links(children));
                }
                Node::Strong(c) | Node::Emphasis(c) | Node::Paragraph(c) | Node::Quote(c) => {
                    found.extend(links(c));
                }
                Node::Text(_) | Node::Code(_) | Node::CodeBlock(_) => {}
            }
        }
        found
    }

    #[test]
    fn previews_show_the_characters_without_the_markup() {
        assert_eq!(plain("It is **urgent**\nreally"), "It is urgent\nreally");
        assert_eq!(plain("> quoted\n\n`x` <b>"), "quoted\nx <b>");
    }

    /// The characters shown, as a reader would copy them.
    fn shown(nodes: &[Node]) -> String {
        nodes
            .iter()
            .map(|node| match node {
                Node::Text(t) | Node::Code(t) | Node::CodeBlock(t) => t.clone(),
                Node::Link { children: c, .. }
                | Node::Strong(c)
                | Node::Emphasis(c)
                | Node::Paragraph(c)
                | Node::Quote(c) => shown(c),
            })
            .collect()
    }

    #[test]
    fn plain_text_is_one_paragraph_with_its_line_breaks() {
        assert_eq!(render("hello"), [para(vec![text("hello")])]);
        assert_eq!(
            render("line one\nline two"),
            [para(vec![text("line one\nline two")])]
        );
    }

    #[test]
    fn the_subset_becomes_elements() {
        assert_eq!(
            render("**bold** and *it* and `x < y`"),
            [para(vec![
                Node::Strong(vec![text("bold")]),
                text(" and "),
                Node::Emphasis(vec![text("it")]),
                text(" and "),
                Node::Code("x < y".into()),
            ])]
        );
        assert_eq!(
            render("> quoted\n\nafter"),
            [
                Node::Quote(vec![para(vec![text("quoted")])]),
                para(vec![text("after")])
            ]
        );
        assert_eq!(
            render("```rust\nfn main() {}\n<b>\n```"),
            [Node::CodeBlock("fn main() {}\n<b>".into())]
        );
    }

    #[test]
    fn raw_html_is_shown_as_typed_and_never_becomes_an_element() {
        for typed in [
            "<img src=x onerror=alert(1)>",
            "<script>alert(1)</script>",
            "hi <b onclick=alert(1)>there</b>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "**<img src=x onerror=alert(1)>**",
        ] {
            let nodes = render(typed);
            assert_eq!(shown(&nodes), typed.replace("**", ""), "{typed}");
            assert!(links(&nodes).is_empty(), "{typed}");
        }
    }

    #[test]
    fn only_web_addresses_become_links() {
        for typed in [
            "[click](javascript:alert(1))",
            "<javascript:alert(1)>",
            "[x](data:text/html,<script>alert(1)</script>)",
            "[x](JaVaScRiPt:alert(1))",
            "javascript:alert(1)",
            "[x](//evil.example)",
        ] {
            let nodes = render(typed);
            assert!(links(&nodes).is_empty(), "{typed}: {nodes:?}");
            assert_eq!(shown(&nodes), typed, "shown as typed");
        }
        // An image is never loaded: it is shown as typed (its address a link like any other).
        let image = render("![img](https://example.com/a.png)");
        assert_eq!(shown(&image), "![img](https://example.com/a.png)");
        assert_eq!(links(&image), ["https://example.com/a.png"]);
        assert_eq!(
            links(&render("[docs](https://example.com/docs)")),
            ["https://example.com/docs"]
        );
        assert_eq!(
            links(&render("<https://example.com>")),
            ["https://example.com"]
        );
    }

    #[test]
    fn addresses_in_text_become_links_without_their_trailing_punctuation() {
        assert_eq!(
            linkify("see https://example.com/a?b=1. Then (www.rust-lang.org)!"),
            [
                text("see "),
                link("https://example.com/a?b=1", "https://example.com/a?b=1"),
                text(". Then ("),
                link("https://www.rust-lang.org", "www.rust-lang.org"),
                text(")!"),
            ]
        );
        assert_eq!(
            linkify("https://en.wikipedia.org/wiki/Rust_(language)"),
            [link(
                "https://en.wikipedia.org/wiki/Rust_(language)",
                "https://en.wikipedia.org/wiki/Rust_(language)"
            )]
        );
        assert_eq!(
            linkify("http:// and www. and nothttp://x"),
            [text("http:// and www. and nothttp://x")]
        );
        assert_eq!(
            links(&render("**https://example.com/a_b_c**")),
            ["https://example.com/a_b_c"]
        );
        assert!(links(&render("`https://example.com`")).is_empty());
    }

    #[test]
    fn what_is_not_in_the_subset_is_shown_as_typed() {
        for typed in [
            "# not a heading",
            "- one\n- two",
            "---",
            "[1]: https://example.com",
        ] {
            assert_eq!(shown(&render(typed)), typed, "{typed}");
        }
    }

    #[test]
    fn emoji_only_messages_are_recognised() {
        assert!(is_emoji_only("🎉"));
        assert!(is_emoji_only(" 👍🏽 ❤️ "));
        assert!(is_emoji_only("👨‍👩‍👧"));
        assert!(!is_emoji_only("🎉 yay"));
        assert!(!is_emoji_only("🎉🎉🎉🎉🎉🎉"));
        assert!(!is_emoji_only(""));
        assert!(!is_emoji_only("123"));
    }
}
