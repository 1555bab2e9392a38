//! Twilio list paging: `PageSize`, `Page` and `PageToken` in, `meta` out.
//!
//! Page tokens point between items by their creation sequence (`PA7`: after item 7, `PB7`:
//! before item 7), so paging stays consistent while items are added or deleted.

use serde_json::{Value, json};

use crate::conformance::{Parameters, parameter};
use crate::error::TwilioError;

const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageToken {
    After(u64),
    Before(u64),
}

impl PageToken {
    fn parse(text: &str) -> Option<Self> {
        let (direction, sequence) = text.split_at_checked(2)?;
        let sequence = sequence.parse().ok()?;
        match direction {
            "PA" => Some(Self::After(sequence)),
            "PB" => Some(Self::Before(sequence)),
            _ => None,
        }
    }

    fn render(self) -> String {
        match self {
            Self::After(sequence) => format!("PA{sequence}"),
            Self::Before(sequence) => format!("PB{sequence}"),
        }
    }
}

/// The page a list request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageRequest {
    size: usize,
    page: u64,
    token: Option<PageToken>,
}

/// One page of a list: the items and the `meta` object describing it.
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub meta: Value,
}

impl PageRequest {
    pub fn from_query(query: &Parameters) -> Result<Self, TwilioError> {
        let value = |name: &str| parameter(query, name);
        let size = match value("PageSize") {
            None => DEFAULT_PAGE_SIZE,
            Some(text) => text.parse().ok().filter(|size| (1..=MAX_PAGE_SIZE).contains(size)).ok_or_else(|| {
                TwilioError::invalid_parameter(format!("PageSize must be an integer from 1 to {MAX_PAGE_SIZE}"))
            })?,
        };
        let page = match value("Page") {
            None => 0,
            Some(text) => {
                text.parse().map_err(|_| TwilioError::invalid_parameter("Page must be a non-negative integer"))?
            }
        };
        let token = value("PageToken")
            .map(|text| {
                PageToken::parse(text)
                    .ok_or_else(|| TwilioError::invalid_parameter("PageToken is not a valid page token"))
            })
            .transpose()?;
        Ok(Self { size, page, token })
    }

    /// The requested page of `items` (in list order, each with its creation sequence).
    /// `list_url` is the absolute URL of the list; `key` names the items in the body.
    pub fn select<T: Clone>(&self, items: &[(u64, T)], list_url: &str, key: &str) -> Page<T> {
        let (from, to) = match self.token {
            None => {
                let from = usize::try_from(self.page).unwrap_or(usize::MAX).saturating_mul(self.size).min(items.len());
                (from, from.saturating_add(self.size).min(items.len()))
            }
            Some(PageToken::After(sequence)) => {
                let from = items.partition_point(|(item, _)| *item <= sequence);
                (from, from.saturating_add(self.size).min(items.len()))
            }
            Some(PageToken::Before(sequence)) => {
                let to = items.partition_point(|(item, _)| *item < sequence);
                (to.saturating_sub(self.size), to)
            }
        };
        let url = |page: u64, token: Option<PageToken>| {
            let mut url = format!("{list_url}?PageSize={}&Page={page}", self.size);
            if let Some(token) = token {
                url.push_str("&PageToken=");
                url.push_str(&token.render());
            }
            url
        };
        let previous_page_url = from.checked_sub(1).map(|last_before| {
            // Before the first item shown, or after the last item when the page is past the end.
            let first_not_before =
                items.get(from).map_or(items[last_before].0.saturating_add(1), |(sequence, _)| *sequence);
            url(self.page.saturating_sub(1), Some(PageToken::Before(first_not_before)))
        });
        let next_page_url = (to < items.len()).then(|| {
            let last_shown = to.checked_sub(1).map_or(0, |index| items[index].0);
            url(self.page.saturating_add(1), Some(PageToken::After(last_shown)))
        });
        Page {
            items: items[from..to].iter().map(|(_, item)| item.clone()).collect(),
            meta: json!({
                "first_page_url": url(0, None),
                "key": key,
                "next_page_url": next_page_url,
                "page": self.page,
                "page_size": self.size,
                "previous_page_url": previous_page_url,
                "url": url(self.page, self.token),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "http://127.0.0.1:1/v1/Credentials/AWS";

    fn query(pairs: &[(&str, &str)]) -> Parameters {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    /// Items 1..=5 by sequence, with sequence 3 deleted.
    fn items() -> Vec<(u64, u64)> {
        [1, 2, 4, 5, 6].into_iter().map(|sequence| (sequence, sequence)).collect()
    }

    fn next_query(meta: &Value) -> Parameters {
        let url = meta["next_page_url"].as_str().expect("a next page");
        let (_, query_text) = url.split_once('?').unwrap();
        url::form_urlencoded::parse(query_text.as_bytes()).into_owned().collect()
    }

    #[test]
    fn defaults_to_fifty_from_the_start() {
        let request = PageRequest::from_query(&Vec::new()).unwrap();
        let page = request.select(&items(), LIST, "credentials");
        assert_eq!(page.items, [1, 2, 4, 5, 6]);
        assert_eq!(page.meta["page_size"], 50);
        assert_eq!(page.meta["next_page_url"], Value::Null);
        assert_eq!(page.meta["previous_page_url"], Value::Null);
        assert_eq!(page.meta["url"], format!("{LIST}?PageSize=50&Page=0"));
    }

    #[test]
    fn following_next_page_urls_visits_every_item_once() {
        let mut request = PageRequest::from_query(&query(&[("PageSize", "2")])).unwrap();
        let mut seen = Vec::new();
        loop {
            let page = request.select(&items(), LIST, "credentials");
            seen.extend(page.items);
            if page.meta["next_page_url"].is_null() {
                break;
            }
            request = PageRequest::from_query(&next_query(&page.meta)).unwrap();
        }
        assert_eq!(seen, [1, 2, 4, 5, 6]);
        assert_eq!(request.page, 2);
    }

    #[test]
    fn previous_page_urls_lead_back() {
        let request =
            PageRequest::from_query(&query(&[("PageSize", "2"), ("Page", "1"), ("PageToken", "PA2")])).unwrap();
        let page = request.select(&items(), LIST, "credentials");
        assert_eq!(page.items, [4, 5]);
        assert_eq!(page.meta["previous_page_url"], format!("{LIST}?PageSize=2&Page=0&PageToken=PB4"));
        let back = PageRequest::from_query(&query(&[("PageSize", "2"), ("Page", "0"), ("PageToken", "PB4")]))
            .unwrap()
            .select(&items(), LIST, "credentials");
        assert_eq!(back.items, [1, 2]);
        assert_eq!(back.meta["previous_page_url"], Value::Null);
    }

    #[test]
    fn page_index_without_token_skips_whole_pages() {
        let page = PageRequest::from_query(&query(&[("PageSize", "2"), ("Page", "2")])).unwrap().select(
            &items(),
            LIST,
            "credentials",
        );
        assert_eq!(page.items, [6]);
        let beyond = PageRequest::from_query(&query(&[("PageSize", "2"), ("Page", "9")])).unwrap().select(
            &items(),
            LIST,
            "credentials",
        );
        assert!(beyond.items.is_empty());
        assert_eq!(beyond.meta["next_page_url"], Value::Null);
        assert_eq!(beyond.meta["previous_page_url"], format!("{LIST}?PageSize=2&Page=8&PageToken=PB7"));
    }

    #[test]
    fn bad_values_are_invalid_parameters() {
        for pairs in [[("PageSize", "0")], [("PageSize", "1001")], [("Page", "-1")], [("PageToken", "XX1")]] {
            let error = PageRequest::from_query(&query(&pairs)).unwrap_err();
            assert_eq!(error.code, 20001, "{pairs:?}");
        }
    }
}
