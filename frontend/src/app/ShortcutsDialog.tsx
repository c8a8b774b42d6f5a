/** The keyboard shortcuts, as a dialog (Ctrl+/ or ?). */
import { Modal } from "../ui/Modal";
import { SHORTCUTS } from "./shortcuts";

function Keys({ keys }: { keys: string[] }) {
  return (
    <>
      {keys.map((k, i) => (
        <span key={k}>
          {i > 0 && "+"}
          <kbd>{k}</kbd>
        </span>
      ))}
    </>
  );
}

export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  const mac = /Mac|iPhone|iPad/.test(navigator.platform);
  const name = (k: string) => (mac && k === "Ctrl" ? "⌘" : k);
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose}>
      <table className="shortcuts" data-testid="shortcuts">
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.does}>
              <th scope="row">
                <Keys keys={s.keys.map(name)} />
                {s.alt && (
                  <>
                    {" "}
                    or <Keys keys={s.alt.map(name)} />
                  </>
                )}
              </th>
              <td>{s.does}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Modal>
  );
}
