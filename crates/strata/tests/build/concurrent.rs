//! Two `strata build` processes on one engine, for repositories whose `FROM` lines use the same
//! name for different parents: each child is built on its own repository's parent, and no
//! shared local name is created.

use strata_engine::{BuilderKind, DockerEngine, Engine};
use strata_test::TestContext;

use crate::{fresh_namespace, runtime, BINARY};

fn family(which: &str) -> TestContext {
    let mut context = TestContext::new(BINARY);
    context.write(
        "science/concurrent-base/sciserver-image.json",
        r#"{"image": "concurrent", "version": "1.0"}"#,
    );
    context.write(
        "science/concurrent-base/Dockerfile",
        &format!("FROM strata-base/busybox:latest\nRUN echo {which} > /which\n"),
    );
    context.write(
        "science/concurrent-child/sciserver-image.json",
        r#"{"image": "concurrent", "version": "1.0"}"#,
    );
    context.write(
        "science/concurrent-child/Dockerfile",
        "FROM sci/concurrent-base:1.0\nRUN cp /which /child-saw\n",
    );
    context.commit(which);
    context
}

#[test]
fn two_runs_on_one_engine_never_share_a_parent_name() {
    let services = strata_test::require_services();
    let (first, second) = (family("first"), family("second"));
    let repos = [
        fresh_namespace(&services.registry, "concurrent-a"),
        fresh_namespace(&services.registry, "concurrent-b"),
    ];
    let spawn = |context: &TestContext, repo: &str| {
        context
            .strata()
            .args([
                "build",
                "--all",
                "--no-manifests",
                "--no-cache",
                "--repo",
                repo,
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let running = [spawn(&first, &repos[0]), spawn(&second, &repos[1])];
    for (child, context) in running.into_iter().zip([&first, &second]) {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", context.render(&output));
    }
    runtime().block_on(async {
        let engine = DockerEngine::connect(BuilderKind::BuildKit).await.unwrap();
        for (repo, which) in repos.iter().zip(["first", "second"]) {
            let image = format!("{repo}/sci/concurrent-child:1.0");
            let output = engine
                .run(&image, &["cat".to_string(), "/child-saw".to_string()])
                .await
                .unwrap();
            assert_eq!(
                output.stdout.trim(),
                which,
                "`{image}` was built on the wrong parent"
            );
        }
        // Podman answers a short name with any image whose name ends in it (here the pushed
        // `<registry>/<repo>/sci/concurrent-base:1.0`): what matters is that no image carries
        // the short name itself.
        let found = engine.image("sci/concurrent-base:1.0").await.unwrap();
        let shared: Vec<&String> = found
            .iter()
            .flat_map(|image| &image.repo_tags)
            .filter(|tag| {
                [
                    "sci/concurrent-base:1.0",
                    "docker.io/sci/concurrent-base:1.0",
                    "docker.io/library/sci/concurrent-base:1.0",
                    "localhost/sci/concurrent-base:1.0",
                ]
                .contains(&tag.as_str())
            })
            .collect();
        assert!(
            shared.is_empty(),
            "no shared local name is left behind: {shared:?}"
        );
    });
}
