//! XMP sidecars (`FILE.xmp`) for the metadata that lives outside the file: capture time with its
//! offset, GPS (Takeout's user-edited location included), description, favourite as a rating,
//! people as keywords. Plain XMP as digiKam, darktable, Lightroom and exiftool read it; the
//! original bytes are never touched.

/// What goes into a sidecar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct XmpFields {
    /// Capture time as `YYYY-MM-DDTHH:MM:SS` plus an offset (`+02:00`, or `Z` for UTC).
    pub taken: Option<String>,
    /// Latitude, degrees north.
    pub latitude: Option<f64>,
    /// Longitude, degrees east.
    pub longitude: Option<f64>,
    /// Altitude, metres.
    pub altitude: Option<f64>,
    /// Caption.
    pub description: Option<String>,
    /// Favourite: rating 5.
    pub favorite: bool,
    /// Names of people.
    pub people: Vec<String>,
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// XMP's `DDD,MM.mmmmmmR` coordinate form.
fn coordinate(value: f64, positive: char, negative: char) -> String {
    let r = if value < 0.0 { negative } else { positive };
    let v = value.abs();
    let deg = v.trunc();
    let min = (v - deg) * 60.0;
    format!("{},{:.6}{}", deg as i64, min, r)
}

/// Renders the sidecar.
pub fn render(f: &XmpFields) -> String {
    let mut attrs = String::new();
    if let Some(t) = &f.taken {
        attrs.push_str(&format!("\n    exif:DateTimeOriginal=\"{}\"", escape(t)));
        attrs.push_str(&format!("\n    photoshop:DateCreated=\"{}\"", escape(t)));
    }
    if let (Some(lat), Some(lon)) = (f.latitude, f.longitude) {
        attrs.push_str(&format!(
            "\n    exif:GPSLatitude=\"{}\"\n    exif:GPSLongitude=\"{}\"",
            coordinate(lat, 'N', 'S'),
            coordinate(lon, 'E', 'W')
        ));
        if let Some(alt) = f.altitude {
            attrs.push_str(&format!(
                "\n    exif:GPSAltitude=\"{}/1000\"\n    exif:GPSAltitudeRef=\"{}\"",
                (alt.abs() * 1000.0).round() as i64,
                if alt < 0.0 { 1 } else { 0 }
            ));
        }
    }
    if f.favorite {
        attrs.push_str("\n    xmp:Rating=\"5\"");
    }
    let mut body = String::new();
    if let Some(d) = f.description.as_deref().filter(|d| !d.is_empty()) {
        body.push_str(&format!(
            "   <dc:description>\n    <rdf:Alt>\n     <rdf:li xml:lang=\"x-default\">{}</rdf:li>\n    </rdf:Alt>\n   </dc:description>\n",
            escape(d)
        ));
    }
    if !f.people.is_empty() {
        body.push_str("   <dc:subject>\n    <rdf:Bag>\n");
        for p in &f.people {
            body.push_str(&format!("     <rdf:li>{}</rdf:li>\n", escape(p)));
        }
        body.push_str("    </rdf:Bag>\n   </dc:subject>\n");
    }
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"photobak\">\n\
 <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
  <rdf:Description rdf:about=\"\"\n\
    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n\
    xmlns:exif=\"http://ns.adobe.com/exif/1.0/\"\n\
    xmlns:photoshop=\"http://ns.adobe.com/photoshop/1.0/\"\n\
    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"{attrs}>\n\
{body}  </rdf:Description>\n\
 </rdf:RDF>\n\
</x:xmpmeta>\n\
<?xpacket end=\"w\"?>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_escaped_fields_and_coordinates() {
        let x = render(&XmpFields {
            taken: Some("2019-05-04T12:30:00+02:00".into()),
            latitude: Some(-33.8568),
            longitude: Some(151.2153),
            altitude: Some(-0.0),
            description: Some("Fish & <chips>".into()),
            favorite: true,
            people: vec!["Zoë".into(), "Bob".into()],
        });
        assert!(x.contains("exif:GPSLatitude=\"33,51.408000S\""), "{x}");
        assert!(x.contains("exif:GPSLongitude=\"151,12.918000E\""), "{x}");
        assert!(x.contains("Fish &amp; &lt;chips&gt;"));
        assert!(x.contains("xmp:Rating=\"5\""));
        assert!(x.contains("<rdf:li>Zoë</rdf:li>"));
    }
}
