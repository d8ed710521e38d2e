/**
 * One dataset record as a reader sees it: a conversation as chat bubbles by role, tool calls with
 * their function name and pretty-printed arguments, turns excluded from the loss (weight 0) marked,
 * preference records as the prompt and the chosen answer beside the rejected one.
 */

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null);

/** Arguments arrive as a JSON string (OpenAI) or an object: show them indented either way. */
function pretty(args: unknown): string {
  if (typeof args === 'string') {
    try {
      return JSON.stringify(JSON.parse(args), null, 2);
    } catch {
      return args;
    }
  }
  return JSON.stringify(args, null, 2);
}

function Content({ content }: { content: unknown }) {
  if (content == null || content === '') return <em className="muted">no content</em>;
  if (typeof content === 'string') return <div className="text">{content}</div>;
  if (Array.isArray(content)) {
    return (
      <div className="text">
        {content.map((part, i) => {
          const p = obj(part);
          if (p && typeof p.text === 'string') return <span key={i}>{p.text}</span>;
          return (
            <code key={i} className="muted">
              [{String(p?.type ?? 'part')}]
            </code>
          );
        })}
      </div>
    );
  }
  return <pre className="args">{pretty(content)}</pre>;
}

function Bubble({ message }: { message: unknown }) {
  const m = obj(message) ?? { role: 'unknown', content: message };
  const role = typeof m.role === 'string' ? m.role : 'unknown';
  const calls = Array.isArray(m.tool_calls) ? m.tool_calls : [];
  const zero = m.weight === 0;
  return (
    <div className={`bubble role-${role}${zero ? ' weight-zero' : ''}`} data-testid="chat-bubble" data-role={role}>
      <div className="bubble-head">
        <span className="role">{role}</span>
        {typeof m.name === 'string' && <code className="muted">{m.name}</code>}
        {role === 'tool' && typeof m.tool_call_id === 'string' && <span className="muted small">result of {m.tool_call_id}</span>}
        {zero && (
          <span className="badge" data-testid="weight-zero" title="weight 0: this turn is not trained on">
            weight 0 · not trained on
          </span>
        )}
      </div>
      {(calls.length === 0 || (m.content != null && m.content !== '')) && <Content content={m.content} />}
      {calls.map((c, i) => {
        const call = obj(c) ?? {};
        const fn = obj(call.function) ?? {};
        return (
          <div key={i} className="tool-call" data-testid="tool-call">
            <div>
              calls <code data-testid="tool-call-name">{typeof fn.name === 'string' ? fn.name : '?'}</code>
              {typeof call.id === 'string' && <span className="muted small"> ({call.id})</span>}
            </div>
            <pre className="args" data-testid="tool-call-args">
              {pretty(fn.arguments)}
            </pre>
          </div>
        );
      })}
    </div>
  );
}

function Conversation({ messages }: { messages: unknown }) {
  if (typeof messages === 'string') return <Bubble message={{ role: 'assistant', content: messages }} />;
  if (!Array.isArray(messages)) return <pre className="args">{pretty(messages)}</pre>;
  return (
    <>
      {messages.map((m, i) => (
        <Bubble key={i} message={m} />
      ))}
    </>
  );
}

function Tools({ tools }: { tools: unknown }) {
  if (!Array.isArray(tools) || tools.length === 0) return null;
  const names = tools.map((t) => String(obj(obj(t)?.function)?.name ?? obj(t)?.name ?? '?'));
  return (
    <details className="tools" data-testid="record-tools">
      <summary>
        {tools.length} tool{tools.length === 1 ? '' : 's'} available: {names.join(', ')}
      </summary>
      <pre className="args">{pretty(tools)}</pre>
    </details>
  );
}

export function DatasetRecord({ record }: { record: unknown }) {
  const r = obj(record);
  if (r && 'chosen' in r && 'rejected' in r) {
    const prompt = r.prompt;
    return (
      <div className="record preference" data-testid="preference-record">
        <div className="chat">
          {typeof prompt === 'string' ? <Bubble message={{ role: 'user', content: prompt }} /> : <Conversation messages={prompt} />}
        </div>
        <div className="grid2">
          <div className="choice chosen" data-testid="pref-chosen">
            <div className="choice-head">Chosen</div>
            <Conversation messages={r.chosen} />
          </div>
          <div className="choice rejected" data-testid="pref-rejected">
            <div className="choice-head">Rejected</div>
            <Conversation messages={r.rejected} />
          </div>
        </div>
      </div>
    );
  }
  if (r && Array.isArray(r.messages)) {
    return (
      <div className="record chat">
        <Tools tools={r.tools} />
        <Conversation messages={r.messages} />
      </div>
    );
  }
  if (r && 'prompt' in r && 'completion' in r) {
    return (
      <div className="record chat">
        <Bubble message={{ role: 'user', content: r.prompt }} />
        <Bubble message={{ role: 'assistant', content: r.completion }} />
      </div>
    );
  }
  return <pre className="args">{pretty(record)}</pre>;
}
