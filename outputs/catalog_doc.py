"""docs/rules.md, generated from the policy files: each rule's documentation lives there."""

from __future__ import annotations

from luoshi.engine.language.policy import Catalog, Rule, rule_expressions
from luoshi.facts.kinds import HISTORY_KINDS

SEVERITY = {"error": "错误", "warning": "警告"}


def _reads_history(rule: Rule) -> bool:
    """Whether a rule reads a kind only the store provides (its history)."""
    texts = [text for _, text, kind in rule_expressions(rule) if kind in ("match", "unless")]
    return any(text.split()[0] in HISTORY_KINDS for text in texts if text.split())


def rules_markdown(catalog: Catalog) -> str:
    history = sorted(rule.id for rule in catalog.rules.values() if _reads_history(rule))
    lines = ["# 规则目录 · Rule catalog", "",
             "本页由 `policies/*.yaml` 生成（`luoshi.outputs.catalog_doc`），测试保证两者一致；"
             "`luoshi rules show 编号` 显示同样的内容和条款原文。", "",
             f"共 {len(catalog.rules)} 条规则：{len(catalog.rules) - len(history)} 条检查报送的数据"
             + (f"，{'、'.join(history)} 检查数据库中保存的历史（见 [history.md](history.md)；"
                "文件模式下没有历史，从不报出）" if history else "") + "。", ""]
    order = ["二(一)", "二(二)", "二(三)", "二(四)", "三"]
    ordered = sorted(catalog.mechanisms.items(),
                     key=lambda item: (order.index(item[1].clause) if item[1].clause in order
                                       else len(order), item[0]))
    for stem, policy in ordered:
        lines += [f"## {policy.clause} {policy.title.zh} · {policy.title.en}", "",
                  f"文件 `policies/{stem}.yaml`", ""]
        for rule in policy.rules:
            lines += [f"### {rule.id} {rule.title.zh}", "",
                      f"`{rule.name}` · {SEVERITY[rule.severity]} · 条款 {rule.clause} · "
                      f"*{rule.title.en}*", "", f"**检查什么** {rule.doc.checks}", "",
                      f"**为什么** {rule.doc.why}", ""]
            if rule.params:
                lines += ["**参数** " + "，".join(f"`{rule.id}.{k}` = {v}"
                                                 for k, v in rule.params.items())
                          + "".join(f"；须满足 `{check}`" for check in rule.param_checks), ""]
            lines += [f"**违反的例子**（报出 {'、'.join(rule.doc.fail.gives)}）", "", "```yaml",
                      rule.doc.fail.facts.rstrip(), "```", "", "**合规的例子**", "", "```yaml",
                      rule.doc.passes.facts.rstrip(), "```", ""]
    return "\n".join(lines)
