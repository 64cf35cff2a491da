//! Who is calling, and what the shop is configured with:
//!
//! - [`ClientPrincipal`]: the customer App Service authentication signed in (its
//!   `x-ms-client-principal` headers); [`OptionalClientPrincipal`] where guests are welcome too;
//! - [`Config`]: the app settings `Shop__Currency`, `Shop__BasketLimit`, `Shop__VipRoles__0`, …
//!   (app settings in Azure, `Values` of local.settings.json locally) read into [`AppSettings`].

use azfn::prelude::*;
use azfn::{Config, OptionalClientPrincipal};
use serde::{Deserialize, Serialize};

/// The app settings this module reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AppSettings {
    /// The `Shop__…` settings.
    pub shop: ShopSettings,
}

/// The `Shop__…` settings.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShopSettings {
    /// `Shop__Currency`: what prices are in.
    pub currency: String,
    /// `Shop__BasketLimit`: how many items a basket holds.
    pub basket_limit: u32,
    /// `Shop__VipRoles__0`, `Shop__VipRoles__1`, …: roles whose baskets hold twice as many.
    #[serde(default)]
    pub vip_roles: Vec<String>,
}

/// What `GET /api/account` answers.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Account {
    /// The customer's name, else their id at the identity provider.
    pub customer: String,
    /// How they signed in (`aad`, `github`, …).
    pub signed_in_with: String,
    /// The shop's currency.
    pub currency: String,
    /// How many items their basket holds.
    pub basket_limit: u32,
}

/// `GET /api/account`: the signed-in customer's account. An anonymous caller gets `401`.
#[function(http_trigger(route = "account", methods = "get", auth_level = "anonymous"))]
async fn account(caller: ClientPrincipal, settings: Config<AppSettings>) -> Json<Account> {
    let shop = &settings.shop;
    let vip = shop.vip_roles.iter().any(|role| caller.has_role(role));
    Json(Account {
        customer: caller
            .name
            .clone()
            .or_else(|| caller.user_id.clone())
            .unwrap_or_default(),
        signed_in_with: caller.identity_provider.clone(),
        currency: shop.currency.clone(),
        basket_limit: if vip { shop.basket_limit * 2 } else { shop.basket_limit },
    })
}

/// `GET /api/welcome`: a greeting for customers and guests alike.
#[function(http_trigger(route = "welcome", methods = "get", auth_level = "anonymous"))]
async fn welcome(caller: OptionalClientPrincipal) -> String {
    match caller.0.as_ref().and_then(|principal| principal.name.as_deref()) {
        Some(name) => format!("Welcome back, {name}!"),
        None => "Welcome! Sign in at /.auth/login/aad to see your account.".to_owned(),
    }
}
