// "Same as …": a knowledge gap that is another domain's spelling ("M365" for "Microsoft 365")
// is merged into it with an alias, which every tab reads at once; the API's suggestions come
// first, any other domain of the period after them. Merged spellings are listed with Undo.
// Drawn only for a team_admin token (aliases change what the whole team sees).

import { h, table } from "./dom.js";
import * as fmt from "./format.js";

const REASONS = { ACRONYM: "an acronym of it", SIMILAR_SPELLING: "a near spelling", SHARED_FLOWS: "its sessions use that domain's flows" };

/** A domain's key as the API makes it: trimmed, white space collapsed, lower case. */
export function domainKey(name) {
  return name.trim().replace(/\s+/g, " ").toLowerCase();
}

function slug(name) {
  return domainKey(name).replace(/[^a-z0-9]+/g, "-");
}

function why(suggestion) {
  return suggestion.reasons.map((reason) => REASONS[reason] || reason).join(", ");
}

/**
 * The "Same as …" control of one knowledge gap: a disclosure holding a choice of domain
 * (suggestions first) and the Merge button, which says what merging does before it does it.
 */
export function sameAsControl(gap, { suggestions, domains, onMerge }) {
  const key = domainKey(gap.name);
  const suggested = suggestions.filter((s) => s.key === key);
  const suggestedKeys = new Set(suggested.map((s) => s.targetKey));
  const others = domains.filter((name) => domainKey(name) !== key && !suggestedKeys.has(domainKey(name)));
  const id = `same-as-${slug(gap.name)}`;
  const select = h(
    "select",
    { id, name: "target" },
    h("option", { value: "" }, "Choose a domain"),
    suggested.length
      ? h(
          "optgroup",
          { label: "Suggested" },
          suggested.map((s) => h("option", { value: s.targetName, dataset: { suggested: "true" } }, `${s.targetName} (suggested)`)),
        )
      : null,
    others.length ? h("optgroup", { label: "Other domains of the period" }, others.map((name) => h("option", { value: name }, name))) : null,
  );
  const effect = h("p", { className: "merge-effect", id: `${id}-effect`, "aria-live": "polite" });
  const merge = h("button", { type: "submit", disabled: true, "aria-describedby": `${id}-effect` }, "Merge");
  const describe = () => {
    const target = select.value;
    merge.disabled = !target;
    const suggestion = suggested.find((s) => s.targetName === target);
    effect.textContent = target
      ? `${suggestion ? `Suggested: ${why(suggestion)}. ` : ""}Its ${fmt.count(gap.sessionCount)} sessions of the period will count as “${target}” in every tab. You can undo it.`
      : "";
  };
  select.addEventListener("change", describe);
  if (suggested.length) select.value = suggested[0].targetName;
  describe();
  const form = h(
    "form",
    {
      className: "same-as-form",
      onSubmit: (event) => {
        event.preventDefault();
        if (select.value) onMerge({ spelling: gap.name, target: select.value, sessions: gap.sessionCount });
      },
    },
    h("label", { for: id }, `Count “${gap.name}” as`),
    select,
    merge,
    effect,
  );
  return h(
    "details",
    { className: "same-as", dataset: { domain: gap.name, suggestions: String(suggested.length) } },
    h(
      "summary",
      {},
      suggested.length ? `Same as ${suggested[0].targetName}?` : "Same as …",
      h("span", { className: "sr-only" }, ` (merge ${gap.name} into another domain)`),
    ),
    form,
  );
}

/** The account's aliases, each with Undo (removeDomainAlias). */
export function mergedList(aliases, zone, onUndo) {
  if (!aliases.length) return null;
  return table(
    "Spellings counted as another domain in every tab",
    [
      { key: "spelling", label: "Spelling", value: (a) => a.spelling },
      { key: "targetName", label: "Counted as", value: (a) => a.targetName, exact: (a) => a.targetKey },
      { key: "createdAt", label: "Since", value: (a) => fmt.day(fmt.localDate(a.createdAt, zone)), exact: (a) => a.createdAt },
      {
        key: "undo",
        label: "Undo",
        value: (a) =>
          h(
            "button",
            { type: "button", className: "undo", dataset: { spelling: a.spelling }, onClick: () => onUndo(a) },
            "Undo",
            h("span", { className: "sr-only" }, `: count “${a.spelling}” as its own domain again`),
          ),
      },
    ],
    aliases,
    { id: "coverage-aliases", className: "data cards-narrow" },
  );
}
