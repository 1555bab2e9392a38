//! `stowage graph SPEC`: the environment's resources and their wiring, coloured by what the plan
//! does to each: a plan made now (read-only, as `stowage plan` makes it), a saved one
//! (`--plan FILE`), or none (`--no-plan`: the spec alone, no call). DOT and Mermaid come from
//! `stowage_plan::render::graph`; the SVG is laid out and drawn here, by `layout-rs`.

use std::process::ExitCode;

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::geometry::Point;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;
use miette::Report;
use stowage_plan::render::graph::{EdgeKind, Graph, SECRET_COLOR, SECRET_LABEL, dot, graph, mermaid};
use stowage_plan::{ActionKind, DesiredResource, Plan};

use crate::cli::{GraphArgs, GraphFormat};
use crate::commands::apply::read_saved_plan;
use crate::exit;
use crate::locking::Locking;
use crate::session::Session;
use crate::settings::{Settings, StateSettings};
use crate::spec_file::{LoadedSpec, load_spec};

pub async fn run(args: &GraphArgs, settings: &Settings) -> Result<ExitCode, Report> {
    let spec = load_spec(&args.spec)?;
    let (desired, plan) = if args.no_plan {
        if spec.spec.fleet.is_some() {
            eprintln!("note: without a plan a fleet's members are not known: only its shared resources are drawn");
        }
        (stowage_plan::desired_resources(&spec.spec), None)
    } else if let Some(file) = &args.plan {
        let (desired, plan) = saved(&spec, file)?;
        (desired, Some(plan))
    } else {
        let state = StateSettings::resolve(&args.state, None);
        let session = Session::open_loaded(settings, spec, state, Locking::read("graph")).await?;
        let (plan, _observations) = session.plan().await?;
        (session.desired().to_vec(), Some(plan))
    };
    let graph = graph(&desired, plan.as_ref());
    print!("{}", render(&graph, args.format));
    if plan.as_ref().is_some_and(Plan::has_errors) {
        eprintln!(
            "error: the plan cannot be applied until its errors are fixed: see them with `stowage plan {}`",
            args.spec.display()
        );
        return Ok(exit::ERROR);
    }
    Ok(exit::OK)
}

/// A saved plan, and what the spec asks for of the members it names (a fleet's are known only
/// from it: no call is made).
fn saved(spec: &LoadedSpec, file: &std::path::Path) -> Result<(Vec<DesiredResource>, Plan), Report> {
    let saved = read_saved_plan(file)?;
    if saved.spec.sha256 != spec.sha256 {
        eprintln!(
            "warning: `{}` was made from a different spec (`{}` as it was then): the wiring drawn is `{}`'s",
            file.display(),
            saved.spec.path,
            spec.path.display()
        );
    }
    let mut members: Vec<String> = saved
        .plan
        .changes
        .iter()
        .filter(|change| !matches!(change.action, ActionKind::Delete | ActionKind::Forget))
        .filter_map(|change| change.address.key.clone())
        .collect();
    members.sort();
    members.dedup();
    Ok((stowage_plan::desired_fleet_resources(&spec.spec, &members), saved.plan))
}

pub fn render(graph: &Graph, format: GraphFormat) -> String {
    match format {
        GraphFormat::Dot => dot(graph),
        GraphFormat::Mermaid => mermaid(graph),
        GraphFormat::Svg => svg(graph),
    }
}

/// A box that holds `lines` with room around them. `layout-rs` would make each character as
/// wide as the font is high, twice what a serif font takes.
fn box_size(lines: &[String]) -> Point {
    let longest = lines.iter().map(|line| line.chars().count()).max().unwrap_or(1);
    let font = FONT_SIZE as f64;
    Point::new(longest as f64 * font * 0.6 + 24., lines.len() as f64 * font * 1.2 + 14.)
}

/// One font size for every text: `layout-rs` writes a style per size, in hash order.
const FONT_SIZE: usize = 14;

/// The graph as SVG, laid out left to right (layered, as Graphviz's `dot`) by `layout-rs`.
pub fn svg(graph: &Graph) -> String {
    let mut drawing = VisualGraph::new(Orientation::LeftToRight);
    // Shapes are made in the flipped orientation, as `layout-rs`'s own DOT reader makes them.
    let shape_orientation = Orientation::LeftToRight.flip();
    let handles: Vec<_> = graph
        .nodes
        .iter()
        .map(|node| {
            let shape = ShapeKind::new_box(&node.label_lines().join("\n"));
            let (fill, line) = node.status.colors();
            let look = StyleAttr::new(color(line), 2, Some(color(fill)), 6, FONT_SIZE);
            let size = box_size(&node.label_lines());
            (&node.address, drawing.add_node(Element::create(shape, look, shape_orientation, size)))
        })
        .collect();
    let handle = |address| handles.iter().find(|(node, _)| *node == address).map(|(_, handle)| *handle);
    for edge in &graph.edges {
        let (Some(from), Some(to)) = (handle(&edge.from), handle(&edge.to)) else { continue };
        let (text, look) = match edge.kind {
            EdgeKind::DependsOn => ("", StyleAttr::new(color("#555555"), 1, None, 0, FONT_SIZE)),
            EdgeKind::Secret => (SECRET_LABEL, StyleAttr::new(color(SECRET_COLOR), 3, None, 0, FONT_SIZE)),
        };
        let arrow = Arrow::new(LineEndKind::None, LineEndKind::Arrow, LineStyleKind::Normal, text, &look, &None, &None);
        drawing.add_edge(arrow, from, to);
    }
    let mut writer = SVGWriter::new();
    if graph.nodes.is_empty() {
        return writer.finalize();
    }
    drawing.do_it(false, false, false, &mut writer);
    // `layout-rs` sizes the canvas as if each label's length were its height, leaving blank
    // space under the drawing: the canvas is made to fit what was placed (nodes, and the
    // points long edges and labels pass through).
    let (mut right, mut bottom) = (0_f64, 0_f64);
    for placed in drawing.iter_nodes() {
        let position = drawing.pos(placed);
        right = right.max(position.right(true));
        bottom = bottom.max(position.bottom(true));
    }
    let mut text = fit_canvas(&writer.finalize(), right + CANVAS_MARGIN, bottom + CANVAS_MARGIN);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Room kept around the drawing.
const CANVAS_MARGIN: f64 = 30.;

/// `svg` with its root element's size and view box set to `width` x `height`.
fn fit_canvas(svg: &str, width: f64, height: f64) -> String {
    let Some(start) = svg.find("<svg ") else { return svg.to_owned() };
    let Some(length) = svg[start..].find('>') else { return svg.to_owned() };
    let (width, height) = (width.ceil(), height.ceil());
    format!(
        "{}<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">{}",
        &svg[..start],
        &svg[start + length + 1..]
    )
}

/// A `#rrggbb` colour of the graph's palette.
fn color(hex: &str) -> Color {
    Color::fast(hex)
}

#[cfg(test)]
mod tests {
    use insta::assert_snapshot;
    use serde_json::{Value, json};
    use stowage_plan::{Observations, Prior, read_targets};
    use stowage_provider::{Attributes, Observed};

    use super::*;

    const DEV: &str = include_str!("../../../../examples/dev.toml");
    const FLEET: &str = include_str!("../../../../examples/fleet.toml");

    fn spec(name: &str, text: &str) -> stowage_spec::Spec {
        stowage_spec::parse(name, text).unwrap_or_else(|errors| panic!("{errors}")).spec
    }

    /// The first plan: nothing exists but Twilio's settings singletons, storage off.
    fn first_plan(desired: &[DesiredResource]) -> Plan {
        let prior = Prior::empty();
        let observations: Observations = read_targets(desired, &prior)
            .into_iter()
            .map(|target| {
                let found = target.address.resource_type.schema().lifecycle.is_singleton().then(|| Observed {
                    id: "Default".to_owned(),
                    attributes: Attributes::from([
                        ("friendly_name".to_owned(), json!("")),
                        ("aws_storage_enabled".to_owned(), json!(false)),
                        ("aws_s3_url".to_owned(), Value::Null),
                        ("aws_credentials_sid".to_owned(), Value::Null),
                        ("encryption_enabled".to_owned(), json!(false)),
                        ("encryption_key_sid".to_owned(), Value::Null),
                    ]),
                });
                (target.address, found)
            })
            .collect();
        stowage_plan::plan(desired, &prior, &observations)
    }

    fn drawn(desired: &[DesiredResource]) -> String {
        svg(&graph(desired, Some(&first_plan(desired))))
    }

    #[test]
    fn dev_svg() {
        let text = drawn(&stowage_plan::desired_resources(&spec("dev.toml", DEV)));
        assert!(text.contains("<svg") && text.contains("secret"), "{text}");
        assert_snapshot!(text);
    }

    #[test]
    fn fleet_svg() {
        let members =
            ["AC11111111111111111111111111111111".to_owned(), "AC22222222222222222222222222222222".to_owned()];
        let text = drawn(&stowage_plan::desired_fleet_resources(&spec("fleet.toml", FLEET), &members));
        // The key's quotes are escaped in the SVG's text.
        assert!(text.contains("twilio_aws_credential.main[&quot;AC11111111111111111111111111111111&quot;]"), "{text}");
        assert_snapshot!(text);
    }

    #[test]
    fn the_svg_is_the_same_every_time() {
        let desired = stowage_plan::desired_resources(&spec("dev.toml", DEV));
        assert_eq!(drawn(&desired), drawn(&desired));
    }

    #[test]
    fn an_empty_graph_is_an_empty_svg() {
        assert!(svg(&Graph::default()).contains("<svg"));
    }
}
