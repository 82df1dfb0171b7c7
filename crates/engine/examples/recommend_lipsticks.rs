//! "More lipsticks like this one, from other brands, in stock", grouped by
//! brand: a recommend query with a filter, on a small product catalogue;
//! then the same groups keyed by brand id, each with its brand's record
//! from a second collection (`with_lookup`).
//!
//! Run it with `cargo run -p vicinity --example recommend_lipsticks`.

use serde_json::json;
use vicinity::{
    CollectionConfig, Database, Distance, FieldIndexParams, FieldType, Filter, GroupId, PointId,
    PointStruct, Query, QueryGroupsRequest, QueryRequest, RecommendStrategy, VectorInput,
    WithLookup,
};

/// A toy embedding: products of one category sit close together; brands
/// further down the list drift further from the first one.
fn embed(category: usize, brand: usize, variant: usize) -> Vec<f32> {
    let mut v = vec![0.0f32; 16];
    v[category] = 1.0;
    v[8] = 0.25 * brand as f32;
    v[15] = 0.05 * variant as f32;
    v
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let categories = ["lipstick", "mascara", "shampoo", "serum"];
    let brands = ["acme", "bloom", "coral", "dune", "ember"];
    let db = Database::new();
    let products =
        db.create_collection("products", CollectionConfig::single(16, Distance::Cosine))?;
    // Index what the filter and the grouping look at, as one would in Qdrant.
    for (key, t) in [
        ("category", FieldType::Keyword),
        ("brand", FieldType::Keyword),
        ("in_stock", FieldType::Bool),
    ] {
        products.create_field_index(&key.parse()?, FieldIndexParams::new(t))?;
    }
    let mut points = Vec::new();
    let mut id = 0u64;
    for (c, category) in categories.iter().enumerate() {
        for (b, brand) in brands.iter().enumerate() {
            for variant in 0..4 {
                id += 1;
                let payload = json!({
                    "name": format!("{brand} {category} #{variant}"),
                    "category": category,
                    "brand": brand,
                    "brand_id": b + 1,
                    "price": 5.0 + (id % 7) as f64 * 3.5,
                    "in_stock": !id.is_multiple_of(5),
                });
                points.push(PointStruct::new(
                    id,
                    embed(c, b, variant),
                    payload.try_into()?,
                ));
            }
        }
    }
    products.upsert(points)?;

    // The shopper looks at product 1 (an "acme lipstick") and dislikes shampoo.
    let liked = PointId::Num(1);
    let disliked = PointId::Num(41);
    let filter = Filter::from_json(json!({
        "must": [
            {"key": "category", "match": {"value": "lipstick"}},
            {"key": "in_stock", "match": {"value": true}}
        ],
        "must_not": [{"key": "brand", "match": {"value": "acme"}}]
    }))?;
    let mut query = QueryRequest::new(
        Query::Recommend {
            positive: vec![VectorInput::Id(liked)],
            negative: vec![VectorInput::Id(disliked)],
            strategy: RecommendStrategy::BestScore,
        },
        10,
    );
    query.filter = Some(filter);
    query.with.payload = true.into();

    let groups = products.query_groups(&QueryGroupsRequest {
        query: query.clone(),
        group_by: "brand".parse()?,
        limit: 3,
        group_size: 2,
        with_lookup: None,
    })?;
    for group in &groups {
        let GroupId::Keyword(brand) = &group.id else {
            continue;
        };
        println!("{brand}:");
        for hit in &group.hits {
            let p = hit
                .payload
                .as_ref()
                .expect("payload was asked for")
                .as_map();
            println!(
                "  {:<22} {:>6.2}  score {:.3}",
                p["name"].as_str().unwrap_or("?"),
                p["price"],
                hit.score
            );
            assert_eq!(p["category"], "lipstick");
            assert_ne!(p["brand"], "acme");
            assert_eq!(p["in_stock"], true);
        }
    }
    assert_eq!(
        groups.len(),
        3,
        "three brands other than acme sell lipsticks in stock"
    );
    assert_eq!(
        groups[0].id,
        GroupId::Keyword("bloom".into()),
        "the brand closest to acme comes first"
    );

    // Brand records live in their own collection, keyed by brand id (a
    // one-dimensional vector: Qdrant's points always carry one). Grouping
    // by `brand_id` through the database fetches each group's brand.
    let countries = ["FR", "IT", "JP", "US", "BR"];
    let brand_records =
        db.create_collection("brands", CollectionConfig::single(1, Distance::Dot))?;
    let mut records = Vec::new();
    for (b, brand) in brands.iter().enumerate() {
        let payload = json!({"name": brand, "country": countries[b]});
        records.push(PointStruct::new(
            b as u64 + 1,
            vec![1.0],
            payload.try_into()?,
        ));
    }
    brand_records.upsert(records)?;
    let by_id = db.query_groups(
        "products",
        &QueryGroupsRequest {
            query,
            group_by: "brand_id".parse()?,
            limit: 3,
            group_size: 1,
            with_lookup: Some(WithLookup::new("brands")),
        },
    )?;
    println!("best lipstick per brand, with the brand's record:");
    for group in &by_id {
        let brand = group
            .lookup
            .as_ref()
            .expect("every brand id is in `brands`");
        let brand = brand
            .payload
            .as_ref()
            .expect("lookups carry the payload")
            .as_map();
        let hit = group.hits[0].payload.as_ref().expect("payload").as_map();
        println!(
            "  {:<22} from {} ({})",
            hit["name"].as_str().unwrap_or("?"),
            brand["name"].as_str().unwrap_or("?"),
            brand["country"].as_str().unwrap_or("?")
        );
        assert_eq!(brand["name"], hit["brand"]);
    }
    assert_eq!(by_id.len(), 3);
    Ok(())
}
