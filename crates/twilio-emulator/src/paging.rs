//! Twilio list paging: `PageSize`, `Page` and `PageToken` in; out, `meta` with absolute URLs
//! (the v1 APIs) or the 2010 API's paging members with URIs relative to its host.
//!
//! Page tokens point between items by their place in the list, a [`PageKey`] (`PA7`: after
//! the item with key 7, `PB7`: before it), so paging stays consistent while items are added or
//! deleted. Lists in creation order key items by their creation sequence; lists newest first
//! (media, alerts) by [`NewestFirst`].

use std::cmp::Reverse;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::conformance::{Parameters, parameter};
use crate::error::TwilioError;

const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 1000;

/// Where an item stands in a list: keys increase in list order.
pub(crate) trait PageKey: Ord + Copy {
    fn render(self) -> String;
    fn parse(text: &str) -> Option<Self>;
    /// A key after `self` in list order, and before any key after `self`.
    fn just_after(self) -> Self;
    /// A key before `self` in list order, and after any key before `self`.
    fn just_before(self) -> Self;
}

/// Creation order: the creation sequence.
impl PageKey for u64 {
    fn render(self) -> String {
        self.to_string()
    }

    fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }

    fn just_after(self) -> Self {
        self.saturating_add(1)
    }

    fn just_before(self) -> Self {
        self.saturating_sub(1)
    }
}

/// Newest first, as Twilio lists media and alerts: by date (whole seconds), later first, then
/// by creation sequence, later first. Rendered `SECONDS_SEQUENCE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct NewestFirst(Reverse<(i64, u64)>);

impl NewestFirst {
    pub fn new(date: Timestamp, sequence: u64) -> Self {
        Self(Reverse((date.as_second(), sequence)))
    }
}

impl PageKey for NewestFirst {
    fn render(self) -> String {
        let Reverse((seconds, sequence)) = self.0;
        format!("{seconds}_{sequence}")
    }

    fn parse(text: &str) -> Option<Self> {
        let (seconds, sequence) = text.split_once('_')?;
        Some(Self(Reverse((seconds.parse().ok()?, sequence.parse().ok()?))))
    }

    fn just_after(self) -> Self {
        let Reverse((seconds, sequence)) = self.0;
        Self(Reverse(match sequence.checked_sub(1) {
            Some(sequence) => (seconds, sequence),
            None => (seconds.saturating_sub(1), u64::MAX),
        }))
    }

    fn just_before(self) -> Self {
        let Reverse((seconds, sequence)) = self.0;
        Self(Reverse(match sequence.checked_add(1) {
            Some(sequence) => (seconds, sequence),
            None => (seconds.saturating_add(1), 0),
        }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageToken<K> {
    After(K),
    Before(K),
}

impl<K: PageKey> PageToken<K> {
    fn parse(text: &str) -> Option<Self> {
        let (direction, key) = text.split_at_checked(2)?;
        let key = K::parse(key)?;
        match direction {
            "PA" => Some(Self::After(key)),
            "PB" => Some(Self::Before(key)),
            _ => None,
        }
    }

    fn render(self) -> String {
        match self {
            Self::After(key) => format!("PA{}", key.render()),
            Self::Before(key) => format!("PB{}", key.render()),
        }
    }
}

/// The page a list request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageRequest<K> {
    size: usize,
    page: u64,
    token: Option<PageToken<K>>,
}

/// One page of a list: the items and the `meta` object describing it.
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub meta: Value,
}

/// The query parameters that page rather than filter.
const PAGING_PARAMETERS: [&str; 3] = ["PageSize", "Page", "PageToken"];

/// The filters of a list request (every query parameter but the paging ones), as sent: the
/// page URLs of `meta` repeat them, so that following them keeps the filter.
pub(crate) fn filters(query: &Parameters) -> Parameters {
    query.iter().filter(|(name, _)| !PAGING_PARAMETERS.contains(&name.as_str())).cloned().collect()
}

impl<K: PageKey> PageRequest<K> {
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

    /// The requested page of `items` (in list order, each with its key, keys increasing).
    /// `list_url` is the absolute URL of the list, `filters` the query parameters the page URLs
    /// repeat before the paging ones; `key` names the items in the body.
    pub fn select<T: Clone>(&self, items: &[(K, T)], list_url: &str, filters: &Parameters, key: &str) -> Page<T> {
        let window = self.window(items);
        let url = |page, token| self.url(list_url, filters, page, token);
        Page {
            items: window.items(items),
            meta: json!({
                "first_page_url": url(0, None),
                "key": key,
                "next_page_url": window.next.map(|(page, token)| url(page, Some(token))),
                "page": self.page,
                "page_size": self.size,
                "previous_page_url": window.previous.map(|(page, token)| url(page, Some(token))),
                "url": url(self.page, self.token),
            }),
        }
    }

    /// The requested page as the 2010 API pages: `meta` is the body's paging members (`end`,
    /// `first_page_uri`, `next_page_uri`, `page`, `page_size`, `previous_page_uri`, `start`,
    /// `uri`), whose URIs are relative to the API's host as `list_uri` is. `start` and `end`
    /// are the positions of the page's first and last item, counted from `Page`.
    pub fn select_2010<T: Clone>(&self, items: &[(K, T)], list_uri: &str, filters: &Parameters) -> Page<T> {
        let window = self.window(items);
        let uri = |page, token| self.url(list_uri, filters, page, token);
        let page_items = window.items(items);
        let start = self.page.saturating_mul(self.size as u64);
        let end = start.saturating_add((page_items.len() as u64).saturating_sub(1));
        Page {
            items: page_items,
            meta: json!({
                "end": end,
                "first_page_uri": uri(0, None),
                "next_page_uri": window.next.map(|(page, token)| uri(page, Some(token))),
                "page": self.page,
                "page_size": self.size,
                "previous_page_uri": window.previous.map(|(page, token)| uri(page, Some(token))),
                "start": start,
                "uri": uri(self.page, self.token),
            }),
        }
    }

    /// Which items the request selects, and the pages before and after them.
    fn window<T>(&self, items: &[(K, T)]) -> Window<K> {
        let (from, to) = match self.token {
            None => {
                let from = usize::try_from(self.page).unwrap_or(usize::MAX).saturating_mul(self.size).min(items.len());
                (from, from.saturating_add(self.size).min(items.len()))
            }
            Some(PageToken::After(after)) => {
                let from = items.partition_point(|(item, _)| *item <= after);
                (from, from.saturating_add(self.size).min(items.len()))
            }
            Some(PageToken::Before(before)) => {
                let to = items.partition_point(|(item, _)| *item < before);
                (to.saturating_sub(self.size), to)
            }
        };
        let previous = from.checked_sub(1).map(|last_before| {
            // Before the first item shown, or after the last item when the page is past the end.
            let first_not_before = items.get(from).map_or(items[last_before].0.just_after(), |(item, _)| *item);
            (self.page.saturating_sub(1), PageToken::Before(first_not_before))
        });
        let next = (to < items.len()).then(|| {
            // After the last item shown, or before the first item when the page is before it.
            let last_shown = to.checked_sub(1).map_or(items[to].0.just_before(), |index| items[index].0);
            (self.page.saturating_add(1), PageToken::After(last_shown))
        });
        Window { from, to, previous, next }
    }

    /// The URL of page `page` of the list at `list_url`, with the filters first.
    fn url(&self, list_url: &str, filters: &Parameters, page: u64, token: Option<PageToken<K>>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(filters);
        query.append_pair("PageSize", &self.size.to_string()).append_pair("Page", &page.to_string());
        if let Some(token) = token {
            query.append_pair("PageToken", &token.render());
        }
        format!("{list_url}?{}", query.finish())
    }
}

/// The items a page request selects (`from..to`), and the page index and token of the pages
/// before and after them, if there are any.
struct Window<K> {
    from: usize,
    to: usize,
    previous: Option<(u64, PageToken<K>)>,
    next: Option<(u64, PageToken<K>)>,
}

impl<K: PageKey> Window<K> {
    fn items<T: Clone>(&self, items: &[(K, T)]) -> Vec<T> {
        items[self.from..self.to].iter().map(|(_, item)| item.clone()).collect()
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
        let page = request.select(&items(), LIST, &Vec::new(), "credentials");
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
            let page = request.select(&items(), LIST, &Vec::new(), "credentials");
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
        let page = request.select(&items(), LIST, &Vec::new(), "credentials");
        assert_eq!(page.items, [4, 5]);
        assert_eq!(page.meta["previous_page_url"], format!("{LIST}?PageSize=2&Page=0&PageToken=PB4"));
        let back = PageRequest::from_query(&query(&[("PageSize", "2"), ("Page", "0"), ("PageToken", "PB4")]))
            .unwrap()
            .select(&items(), LIST, &Vec::new(), "credentials");
        assert_eq!(back.items, [1, 2]);
        assert_eq!(back.meta["previous_page_url"], Value::Null);
    }

    #[test]
    fn page_index_without_token_skips_whole_pages() {
        let page = PageRequest::from_query(&query(&[("PageSize", "2"), ("Page", "2")])).unwrap().select(
            &items(),
            LIST,
            &Vec::new(),
            "credentials",
        );
        assert_eq!(page.items, [6]);
        let beyond = PageRequest::from_query(&query(&[("PageSize", "2"), ("Page", "9")])).unwrap().select(
            &items(),
            LIST,
            &Vec::new(),
            "credentials",
        );
        assert!(beyond.items.is_empty());
        assert_eq!(beyond.meta["next_page_url"], Value::Null);
        assert_eq!(beyond.meta["previous_page_url"], format!("{LIST}?PageSize=2&Page=8&PageToken=PB7"));
    }

    #[test]
    fn newest_first_pages_walk_back_in_time_and_keep_the_filters() {
        let at = |second| Timestamp::from_second(second).unwrap();
        // Two items in one second, told apart by sequence; the newest first.
        let mut items: Vec<(NewestFirst, u64)> = [(100, 1), (200, 2), (200, 3), (300, 4), (50, 5)]
            .into_iter()
            .map(|(second, sequence)| (NewestFirst::new(at(second), sequence), sequence))
            .collect();
        items.sort_by_key(|(key, _)| *key);
        assert_eq!(items.iter().map(|(_, item)| *item).collect::<Vec<_>>(), [4, 3, 2, 1, 5]);
        let filters = query(&[("StartDate", "2016-01-01T00:00:00Z"), ("LogLevel", "error")]);
        let list = "http://127.0.0.1:1/v1/Alerts";
        let mut request = PageRequest::from_query(&query(&[("PageSize", "2")])).unwrap();
        let mut seen = Vec::new();
        loop {
            let page = request.select(&items, list, &filters, "alerts");
            seen.extend(page.items);
            let Some(next) = page.meta["next_page_url"].as_str() else { break };
            assert!(next.starts_with(&format!("{list}?StartDate=2016-01-01T00%3A00%3A00Z&LogLevel=error&PageSize=2")));
            request = PageRequest::from_query(&next_query(&page.meta)).unwrap();
        }
        assert_eq!(seen, [4, 3, 2, 1, 5]);
        let first =
            PageRequest::<NewestFirst>::from_query(&Vec::new()).unwrap().select(&items, list, &filters, "alerts");
        assert_eq!(
            first.meta["first_page_url"],
            format!("{list}?StartDate=2016-01-01T00%3A00%3A00Z&LogLevel=error&PageSize=50&Page=0")
        );
    }

    #[test]
    fn newest_first_keys_render_and_parse_back() {
        let key = NewestFirst::new(Timestamp::from_second(1_700_000_000).unwrap(), 7);
        assert_eq!(key.render(), "1700000000_7");
        assert_eq!(NewestFirst::parse("1700000000_7"), Some(key));
        assert_eq!(NewestFirst::parse("1700000000"), None);
        assert!(key.just_after() > key && key.just_before() < key);
        let first_of_second = NewestFirst::new(Timestamp::from_second(5).unwrap(), 0);
        assert!(first_of_second.just_after() > first_of_second);
        assert!(NewestFirst::new(Timestamp::from_second(4).unwrap(), u64::MAX) > first_of_second);
    }

    #[test]
    fn a_page_before_the_first_item_leads_to_the_first_items() {
        let request = PageRequest::from_query(&query(&[("PageSize", "2"), ("PageToken", "PB1")])).unwrap();
        let page = request.select(&items(), LIST, &Vec::new(), "credentials");
        assert!(page.items.is_empty());
        let next = PageRequest::from_query(&next_query(&page.meta)).unwrap();
        assert_eq!(next.select(&items(), LIST, &Vec::new(), "credentials").items, [1, 2]);
    }

    #[test]
    fn pages_of_the_2010_api_have_relative_uris_and_positions() {
        let list = "/2010-04-01/Accounts.json";
        let filters = query(&[("Status", "active")]);
        let first =
            PageRequest::from_query(&query(&[("PageSize", "2")])).unwrap().select_2010(&items(), list, &filters);
        assert_eq!(first.items, [1, 2]);
        assert_eq!(first.meta["start"], 0);
        assert_eq!(first.meta["end"], 1);
        assert_eq!(first.meta["uri"], format!("{list}?Status=active&PageSize=2&Page=0"));
        assert_eq!(first.meta["first_page_uri"], first.meta["uri"]);
        assert_eq!(first.meta["previous_page_uri"], Value::Null);
        let next = first.meta["next_page_uri"].as_str().unwrap();
        assert_eq!(next, format!("{list}?Status=active&PageSize=2&Page=1&PageToken=PA2"));
        let (_, next_query) = next.split_once('?').unwrap();
        let next_query: Parameters = url::form_urlencoded::parse(next_query.as_bytes()).into_owned().collect();
        let last = PageRequest::from_query(&next_query).unwrap().select_2010(&items(), list, &filters);
        assert_eq!(last.items, [4, 5]);
        assert_eq!((last.meta["start"].as_u64(), last.meta["end"].as_u64()), (Some(2), Some(3)));
        let empty = PageRequest::<u64>::from_query(&Vec::new()).unwrap().select_2010::<u64>(&[], list, &Vec::new());
        assert!(empty.items.is_empty());
        assert_eq!((empty.meta["start"].as_u64(), empty.meta["end"].as_u64()), (Some(0), Some(0)));
        assert_eq!(empty.meta["next_page_uri"], Value::Null);
    }

    #[test]
    fn bad_values_are_invalid_parameters() {
        for pairs in [[("PageSize", "0")], [("PageSize", "1001")], [("Page", "-1")], [("PageToken", "XX1")]] {
            let error = PageRequest::<u64>::from_query(&query(&pairs)).unwrap_err();
            assert_eq!(error.code, 20001, "{pairs:?}");
        }
    }
}
