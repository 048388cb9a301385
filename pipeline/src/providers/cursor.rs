//! Cursor pagination as OpenAI and Anthropic do it: `{data, has_more, last_id}` pages,
//! the next one asked for with the last id (`after` / `after_id`).

use reqwest::{Method, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ProviderError;
use super::http::{Reply, Transport};

/// Pages followed per list before the answer is deemed broken.
const MAX_PAGES: usize = 10_000;

/// How one API pages its lists.
pub(crate) struct Cursor {
    /// Provider name, for errors.
    pub provider: &'static str,
    /// Query parameter carrying the last id (`after` or `after_id`).
    pub param: &'static str,
    /// Page size asked for (the API's maximum).
    pub limit: &'static str,
}

#[derive(Deserialize)]
struct Page<T> {
    data: Vec<T>,
    #[serde(default)]
    has_more: bool,
    last_id: Option<String>,
}

impl Cursor {
    /// Every item of a list; `url` builds the request URL from the paging query.
    pub async fn list_all<T: DeserializeOwned>(
        &self,
        http: &Transport,
        what: &str,
        url: impl Fn(&[(&str, &str)]) -> Url,
    ) -> Result<Vec<T>, ProviderError> {
        Ok(self.list_until(http, what, url, |_| false).await?.0)
    }

    /// Items page by page until one satisfies `stop` (its page is the last read) or
    /// the list ends; also the last page's reply, as evidence of what was seen.
    pub async fn list_until<T: DeserializeOwned>(
        &self,
        http: &Transport,
        what: &str,
        url: impl Fn(&[(&str, &str)]) -> Url,
        stop: impl Fn(&T) -> bool,
    ) -> Result<(Vec<T>, Reply), ProviderError> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("limit", self.limit)];
            if let Some(after) = &after {
                query.push((self.param, after.as_str()));
            }
            let reply = http.send(Method::GET, url(&query), None, what).await?;
            let page: Page<T> = reply.json(&format!("{} {what}", self.provider))?;
            let found = page.data.iter().any(&stop);
            items.extend(page.data);
            if found || !page.has_more {
                return Ok((items, reply));
            }
            after = match page.last_id {
                Some(id) if Some(id.as_str()) != after.as_deref() => Some(id),
                _ => {
                    return Err(ProviderError::protocol(format!(
                        "{} {what}: has_more without a new last_id",
                        self.provider
                    )));
                }
            };
        }
        Err(ProviderError::protocol(format!(
            "{} {what}: more than {MAX_PAGES} pages",
            self.provider
        )))
    }
}
