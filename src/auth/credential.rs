//! Where a request's credential is found: the `Authorization: Bearer` header, else the
//! session cookie (any of the `Cookie` headers), else — for socket upgrades only, whose
//! browser API cannot set headers — the `token` query parameter. REST and server functions
//! never read the query: a token in a URL ends up in logs and `Referer` headers (issue 9,
//! row 9).

use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "natter_session";

/// Whether a request may present its token in the query string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query<'a> {
    /// A REST call or a server function: headers only.
    Ignored,
    /// A WebSocket or Socket.IO upgrade, with its query string.
    SocketUpgrade(Option<&'a str>),
}

/// The token a request presents, from the first place that has one.
pub fn token_from_request(headers: &HeaderMap, query: Query<'_>) -> Option<String> {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let cookies = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let query = match query {
        Query::Ignored => None,
        Query::SocketUpgrade(query) => query,
    };
    token_from(authorization, cookies, query)
}

fn token_from<'a>(
    authorization: Option<&str>,
    cookie_headers: impl IntoIterator<Item = &'a str>,
    query: Option<&str>,
) -> Option<String> {
    let bearer = authorization
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned());
    bearer
        .or_else(|| {
            cookie_headers
                .into_iter()
                .find_map(|h| pair(h, ';', COOKIE_NAME))
        })
        .or_else(|| query.and_then(|q| pair(q, '&', "token")))
        .filter(|t| !t.is_empty())
}

/// The value of `name` in a `k=v<separator>k=v` list.
fn pair(text: &str, separator: char, name: &str) -> Option<String> {
    text.split(separator)
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_header_wins_over_cookie_and_query() {
        let cookies = ["a=1; natter_session=from-cookie"];
        assert_eq!(
            token_from(None, cookies, Some("token=q")).as_deref(),
            Some("from-cookie")
        );
        assert_eq!(
            token_from(Some("Bearer from-header"), cookies, None).as_deref(),
            Some("from-header")
        );
        assert_eq!(
            token_from(None, [], Some("x=1&token=q")).as_deref(),
            Some("q")
        );
        assert_eq!(token_from(None, [], Some("token=")), None);
        assert_eq!(token_from(None, ["natter_sessionX=1"], None), None);
    }

    #[test]
    fn only_socket_upgrades_read_the_query() {
        let headers = HeaderMap::new();
        assert_eq!(
            token_from_request(&headers, Query::SocketUpgrade(Some("token=t"))).as_deref(),
            Some("t")
        );
        assert_eq!(token_from_request(&headers, Query::Ignored), None);
    }
}
