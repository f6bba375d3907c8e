//! PNG latency plot (latency by percentile, one line per series) with plotters' bitmap backend.
//! Text is drawn with the public-domain 8x8 bitmap font of the `font8x8` crate, so no system
//! font (and no font library) is needed.

use std::path::Path;

use anyhow::{Result, anyhow};
use font8x8::UnicodeFonts;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind, FontTransform,
};

/// A bitmap backend whose text is rendered from an embedded 8x8 font.
pub struct Font8Backend<'a>(BitMapBackend<'a>);

fn scale_of<S: BackendTextStyle>(style: &S) -> i32 {
    ((style.size() / 10.0).round() as i32).max(1)
}

impl<'a> DrawingBackend for Font8Backend<'a> {
    type ErrorType = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }
    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.ensure_prepared()
    }
    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.present()
    }
    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_pixel(point, color)
    }
    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_line(from, to, style)
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let s = scale_of(style) as u32;
        Ok((text.chars().count() as u32 * 8 * s, 8 * s))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let s = scale_of(style);
        let (w, h) = (text.chars().count() as i32 * 8 * s, 8 * s);
        let vertical = matches!(
            style.transform(),
            FontTransform::Rotate90 | FontTransform::Rotate270
        );
        let anchor = style.anchor();
        // size along the text direction / across it, then the anchor offset
        let dx = match anchor.h_pos {
            HPos::Left => 0,
            HPos::Center => -w / 2,
            HPos::Right => -w,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0,
            VPos::Center => -h / 2,
            VPos::Bottom => -h,
        };
        let color = style.color();
        for (i, ch) in text.chars().enumerate() {
            let glyph = font8x8::BASIC_FONTS.get(ch).unwrap_or([0; 8]);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) == 0 {
                        continue;
                    }
                    for sy in 0..s {
                        for sx in 0..s {
                            let x = dx + (i as i32 * 8 + col) * s + sx;
                            let y = dy + row as i32 * s + sy;
                            // vertical text reads bottom-to-top (Rotate270)
                            let p = if vertical {
                                (pos.0 + y, pos.1 - x)
                            } else {
                                (pos.0 + x, pos.1 + y)
                            };
                            self.0.draw_pixel(p, color)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// One line of the plot.
pub struct Series {
    pub label: String,
    /// (percentile, ms)
    pub points: Vec<(f64, f64)>,
}

/// Maps a percentile to the x axis: "nines" scale, x = -log10(1 - p/100), so 90 → 1, 99 → 2,
/// 99.9 → 3 (the tail gets the room it deserves).
fn nines(p: f64) -> f64 {
    -(1.0 - (p / 100.0).min(0.99999)).log10()
}

/// Writes a latency-by-percentile PNG with one line per series.
pub fn latency_png(path: &Path, title: &str, series: &[Series]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let backend = Font8Backend(BitMapBackend::new(path, (1100, 650)));
    let root: DrawingArea<_, Shift> = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
    let max_ms = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.1f64, f64::max);
    let min_ms = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(f64::INFINITY, f64::min)
        .clamp(0.001, max_ms / 2.0);
    let max_x = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| nines(p.0)))
        .fold(1.0f64, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20).into_font())
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..max_x, (min_ms * 0.8..max_ms * 1.25).log_scale())
        .map_err(|e| anyhow!("plot: {e}"))?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency ms (log)")
        .x_labels(6)
        .x_label_formatter(&|x| {
            let p = 100.0 * (1.0 - 10f64.powf(-x));
            if p < 99.0 {
                format!("p{p:.0}")
            } else {
                format!("p{p:.2}")
            }
        })
        .y_label_formatter(&|y| {
            if *y >= 10.0 {
                format!("{y:.0}")
            } else if *y >= 1.0 {
                format!("{y:.1}")
            } else {
                format!("{y:.2}")
            }
        })
        .label_style(("sans-serif", 10))
        .draw()
        .map_err(|e| anyhow!("plot: {e}"))?;
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                s.points.iter().map(|(p, ms)| (nines(*p), ms.max(min_ms))),
                Color::stroke_width(&color, 2),
            ))
            .map_err(|e| anyhow!("plot: {e}"))?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], Color::stroke_width(&color, 2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 10))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| anyhow!("plot: {e}"))?;
    root.present().map_err(|e| anyhow!("plot: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn nines_scale() {
        assert!((super::nines(90.0) - 1.0).abs() < 1e-9);
        assert!((super::nines(99.0) - 2.0).abs() < 1e-9);
        assert_eq!(super::nines(0.0), 0.0);
        assert!(super::nines(100.0).is_finite());
    }
}
