//! Geo points and shapes, with Qdrant's semantics.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A point on Earth in degrees.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoPoint {
    /// Longitude, -180 to 180.
    pub lon: f64,
    /// Latitude, -90 to 90.
    pub lat: f64,
}

impl GeoPoint {
    /// A payload value that is a geo point: an object with numeric `lon`
    /// and `lat` in range, and nothing else.
    pub fn from_value(v: &Value) -> Option<GeoPoint> {
        let o = v.as_object()?;
        if o.len() != 2 {
            return None;
        }
        let p = GeoPoint {
            lon: o.get("lon")?.as_f64()?,
            lat: o.get("lat")?.as_f64()?,
        };
        p.is_valid().then_some(p)
    }

    /// Whether the coordinates are in range.
    pub fn is_valid(&self) -> bool {
        (-180.0..=180.0).contains(&self.lon) && (-90.0..=90.0).contains(&self.lat)
    }

    /// The great-circle distance in metres (haversine, Earth radius
    /// 6,371,008.8 m, the geo crate's mean radius, as in Qdrant).
    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        const R: f64 = 6_371_008.8;
        let (la1, la2) = (self.lat.to_radians(), other.lat.to_radians());
        let dla = la2 - la1;
        let dlo = (other.lon - self.lon).to_radians();
        let a = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().asin()
    }
}

/// Points within `radius` metres of `center`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoRadius {
    /// The centre.
    pub center: GeoPoint,
    /// The radius in metres.
    pub radius: f64,
}

impl GeoRadius {
    /// Whether `p` is inside: strictly nearer than the radius, as Qdrant.
    pub fn contains(&self, p: &GeoPoint) -> bool {
        self.center.distance_m(p) < self.radius
    }
}

/// Points strictly inside a box (its edges are outside, as in Qdrant); the
/// box may cross the antimeridian (left > right).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoBoundingBox {
    /// The north-west corner.
    pub top_left: GeoPoint,
    /// The south-east corner.
    pub bottom_right: GeoPoint,
}

impl GeoBoundingBox {
    /// Whether `p` is strictly inside.
    pub fn contains(&self, p: &GeoPoint) -> bool {
        let lat_ok = p.lat < self.top_left.lat && p.lat > self.bottom_right.lat;
        let (l, r) = (self.top_left.lon, self.bottom_right.lon);
        let lon_ok = if l <= r {
            p.lon > l && p.lon < r
        } else {
            p.lon > l || p.lon < r
        };
        lat_ok && lon_ok
    }
}

/// A closed ring of points (first equals last).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoLineString {
    /// The ring's points.
    pub points: Vec<GeoPoint>,
}

/// A polygon with optional holes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoPolygon {
    /// The outer ring.
    pub exterior: GeoLineString,
    /// Holes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interiors: Option<Vec<GeoLineString>>,
}

/// Whether `p` lies on the segment `a`-`b`.
fn on_segment(a: GeoPoint, b: GeoPoint, p: &GeoPoint) -> bool {
    let cross = (b.lon - a.lon) * (p.lat - a.lat) - (b.lat - a.lat) * (p.lon - a.lon);
    cross.abs() <= 1e-12 * (1.0 + (b.lon - a.lon).abs() + (b.lat - a.lat).abs())
        && p.lon >= a.lon.min(b.lon)
        && p.lon <= a.lon.max(b.lon)
        && p.lat >= a.lat.min(b.lat)
        && p.lat <= a.lat.max(b.lat)
}

/// Whether `p` is strictly inside ring `ring` (even-odd rule in the
/// lon/lat plane; points on the ring are outside, as in Qdrant).
fn in_ring(ring: &[GeoPoint], p: &GeoPoint) -> bool {
    let mut inside = false;
    let n = ring.len();
    if n < 3 || ring.windows(2).any(|w| on_segment(w[0], w[1], p)) {
        return false;
    }
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (ring[i], ring[j]);
        if (a.lat > p.lat) != (b.lat > p.lat) {
            let x = (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon;
            if p.lon < x {
                inside = !inside;
            }
        }
        j = i;
    }
    inside
}

impl GeoPolygon {
    /// Checks Qdrant's rules: rings of at least 4 points, closed.
    pub fn validate(&self) -> Result<(), String> {
        let rings = std::iter::once(&self.exterior).chain(self.interiors.iter().flatten());
        for ring in rings {
            if ring.points.len() < 4 {
                return Err("polygon rings need at least 4 points".into());
            }
            if ring.points.first() != ring.points.last() {
                return Err(
                    "polygon rings must be closed: the first and the last point must be the same"
                        .into(),
                );
            }
        }
        Ok(())
    }

    /// Whether `p` is inside the exterior and outside every hole.
    pub fn contains(&self, p: &GeoPoint) -> bool {
        in_ring(&self.exterior.points, p)
            && !self
                .interiors
                .iter()
                .flatten()
                .any(|h| in_ring(&h.points, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(lon: f64, lat: f64) -> GeoPoint {
        GeoPoint { lon, lat }
    }

    #[test]
    fn shapes() {
        let r = GeoRadius {
            center: pt(10.0, 10.0),
            radius: 1.0,
        };
        assert!(r.contains(&pt(10.0, 10.0)));
        assert!(!r.contains(&pt(10.0, 10.00001)));
        let b = GeoBoundingBox {
            top_left: pt(5.0, 15.0),
            bottom_right: pt(15.0, 5.0),
        };
        assert!(
            b.contains(&pt(10.0, 10.0)) && !b.contains(&pt(5.0, 5.0)),
            "edges are outside"
        );
        assert!(!b.contains(&pt(50.0, 10.0)));
        let wrap = GeoBoundingBox {
            top_left: pt(170.0, 10.0),
            bottom_right: pt(-170.0, -10.0),
        };
        assert!(wrap.contains(&pt(179.0, 0.0)) && wrap.contains(&pt(-179.0, 0.0)));
        assert!(!wrap.contains(&pt(0.0, 0.0)));
        let ring = |pts: &[(f64, f64)]| GeoLineString {
            points: pts.iter().map(|&(a, b)| pt(a, b)).collect(),
        };
        let poly = GeoPolygon {
            exterior: ring(&[
                (0.0, 0.0),
                (60.0, 0.0),
                (60.0, 60.0),
                (0.0, 60.0),
                (0.0, 0.0),
            ]),
            interiors: Some(vec![ring(&[
                (5.0, 5.0),
                (15.0, 5.0),
                (15.0, 15.0),
                (5.0, 15.0),
                (5.0, 5.0),
            ])]),
        };
        poly.validate().unwrap();
        assert!(poly.contains(&pt(50.0, 50.0)));
        assert!(!poly.contains(&pt(10.0, 10.0)), "inside the hole");
        assert!(!poly.contains(&pt(70.0, 10.0)));
        assert!(
            !poly.contains(&pt(0.0, 0.0)) && !poly.contains(&pt(30.0, 0.0)),
            "the ring is outside"
        );
        let open = GeoPolygon {
            exterior: ring(&[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]),
            interiors: None,
        };
        assert!(open.validate().is_err());
        assert_eq!(
            GeoPoint::from_value(&serde_json::json!({"lon": 1, "lat": 2})),
            Some(pt(1.0, 2.0))
        );
        assert_eq!(GeoPoint::from_value(&serde_json::json!("10,10")), None);
        assert_eq!(
            GeoPoint::from_value(&serde_json::json!({"lon": 200, "lat": 2})),
            None
        );
    }
}
